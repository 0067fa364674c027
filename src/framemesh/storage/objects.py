"""The object store interface and its local back end.

Keys are the outputs' paths under the gateway's outputs folder, with `/` between parts
(`<job>/720p/seg_00000.mp4`, `ai/<job>/image-0.png`): the same names as their URLs under
`/outputs/`, so a key, a local path and a URL map one to one.

Every method blocks (files, the network): call them off the event loop.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

from framemesh.storage.errors import StoreError
from framemesh.storage.location import parse_location


class ObjectStore(Protocol):
    remote: bool  # False: the local folder already is the store (nothing to upload)

    def describe(self) -> str: ...

    def check(self) -> None:
        """Raise StoreUnreachable (or StoreError) unless the store answers and its bucket is there."""

    def put(self, key: str, path: Path) -> None:
        """Store the file at `path`, byte for byte, under `key` (replacing what was there)."""

    def get(self, key: str) -> bytes: ...

    def url(self, key: str) -> str | None:
        """A URL any player can fetch the object at for a while (presigned), or None
        when the gateway serves it itself."""

    def delete(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`; how many were deleted."""


def _inside(root: Path, key: str) -> Path:
    path = (root / key).resolve()
    if not path.is_relative_to(root.resolve()) or not key:
        raise StoreError(f"key {key!r} leads out of the store's folder")
    return path


class LocalFolder:
    """The default: outputs live in a folder on this machine (the gateway's outputs folder)
    and the gateway serves them from there. A put of a file already in its place is a no-op."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return f"local folder {self.root}"

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, path: Path) -> None:
        target = _inside(self.root, key)
        if target == path.resolve():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)  # readers see the whole file or none

    def get(self, key: str) -> bytes:
        try:
            return _inside(self.root, key).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"no object {key!r} in {self.describe()}") from None

    def url(self, key: str) -> str | None:
        return None

    def delete(self, prefix: str) -> int:
        base = _inside(self.root, prefix.rstrip("/"))
        if base.is_dir():
            count = sum(1 for p in base.rglob("*") if p.is_file())
            shutil.rmtree(base, ignore_errors=True)
            return count
        if base.is_file():
            base.unlink()
            return 1
        return 0


def open_store(location: str | None, outputs_dir: Path) -> ObjectStore:
    """The store an operator named (`s3://…`), or the local outputs folder for None."""
    if location is None:
        return LocalFolder(outputs_dir)
    where = parse_location(location)
    try:
        from framemesh.storage.s3 import S3Store  # boto3 is imported only when a gateway uses S3
    except ImportError as exc:
        raise StoreError(f"object store {location}: boto3 is not installed ({exc}); pip install 'framemesh[s3]'") from exc
    return S3Store(where)
