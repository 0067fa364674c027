"""An orchestrator's result travels as one uncompressed tar: a JSON manifest, then the
files it names with their sizes and hashes (transcode renditions, AI outputs).

One response carries every rendition of a segment (or every output of an AI job) (one round trip, no state kept on
the orchestrator), and tar is in the standard library on both ends. Video is
already compressed, so the tar is not.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path, PurePosixPath
from typing import Protocol, Sequence, TypeVar

from pydantic import BaseModel

MANIFEST = "result.json"
MEDIA_TYPE = "application/x-tar"


class BundleError(Exception):
    """A bundle that is not what its manifest says: the peer broke the protocol."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class BundleEntry(Protocol):
    file: str
    bytes: int
    sha256: str


class BundleManifest(Protocol):
    """A result model that names its files (transcode renditions, AI outputs)."""

    def bundle_entries(self) -> Sequence[BundleEntry]: ...

    def model_dump_json(self) -> str: ...


M = TypeVar("M", bound=BaseModel)


def write_bundle(result: BundleManifest, files: dict[str, Path], dest: Path) -> Path:
    """Write `result` and the files it names (member name -> path on disk) to `dest`."""
    named = {e.file for e in result.bundle_entries()}
    if named != set(files):
        raise BundleError(f"manifest names {sorted(named)} but files are {sorted(files)}")
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        data = result.model_dump_json().encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for member, path in files.items():
            tar.add(path, arcname=member, recursive=False)
    return dest


def _safe_member(name: str) -> str:
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or len(pure.parts) != 1 or name.startswith("."):
        raise BundleError(f"bundle member {name!r} is not a plain file name")
    return name


def read_bundle(source: Path, out_dir: Path, model: type[M]) -> tuple[M, dict[str, Path]]:
    """Unpack a bundle whose manifest is a `model` into `out_dir`, checking every file
    against the manifest's size and hash."""
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(source, "r") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise BundleError(f"bundle does not start with {MANIFEST}")
            fh = tar.extractfile(first)
            if fh is None:
                raise BundleError(f"{MANIFEST} is not a file")
            try:
                result = model.model_validate_json(fh.read())
            except ValueError as exc:
                raise BundleError(f"{MANIFEST} is malformed: {exc}") from exc
            expected = {e.file: e for e in result.bundle_entries()}  # type: ignore[attr-defined]
            files: dict[str, Path] = {}
            for member in tar:
                if member.offset == first.offset:
                    continue
                name = _safe_member(member.name)
                if name not in expected or not member.isfile():
                    raise BundleError(f"bundle holds {name!r}, which its manifest does not name")
                if name in files:
                    raise BundleError(f"bundle holds {name!r} twice")
                target = out_dir / name
                src = tar.extractfile(member)
                assert src is not None
                with target.open("wb") as out:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
                files[name] = target
    except tarfile.TarError as exc:
        raise BundleError(f"not a readable tar bundle: {exc}") from exc
    missing = set(expected) - set(files)
    if missing:
        raise BundleError(f"bundle lacks {sorted(missing)}")
    for name, path in files.items():
        want = expected[name]
        if path.stat().st_size != want.bytes or sha256_file(path) != want.sha256:
            raise BundleError(f"{name} does not match the size/hash in the manifest")
    return result, files
