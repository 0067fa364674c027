"""Compile Vyper sources into deployable artifacts, with an on-disk cache.

``compile_source(path)`` returns an `Artifact` (name, ABI, bytecode).  Compiled
artifacts are cached as JSON files keyed by a sha256 over:

- the compiler version, the EVM version asked for,
- the source file itself, and every ``.vy``/``.vyi``/``.json`` file under the same
  directory tree (what an ``import`` of a sibling or a sub-package reaches; hidden
  directories and the cache itself are skipped), so a change to an imported module
  recompiles its importers.

The cache lives in ``$FRAMEMESH_CACHE_DIR/vyper`` if that variable is set, else in
``~/.cache/framemesh/vyper``.  A corrupt cache entry is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CompileError

_IMPORTABLE = (".vy", ".vyi", ".json")


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: what `Chain.deploy` needs."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-prefixed init code
    source_sha256: str = ""
    compiler: str = ""

    @property
    def abi_hash(self) -> str:
        """sha256 of the ABI in canonical JSON: the same interface hashes the same."""
        return abi_hash(self.abi)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "abi": self.abi,
            "bytecode": self.bytecode,
            "source_sha256": self.source_sha256,
            "compiler": self.compiler,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            name=data["name"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            source_sha256=data.get("source_sha256", ""),
            compiler=data.get("compiler", ""),
        )


def abi_hash(abi: list[dict[str, Any]]) -> str:
    canonical = json.dumps(abi, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def cache_dir() -> Path:
    """Where compiled artifacts are kept (created on first use)."""
    base = os.environ.get("FRAMEMESH_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "framemesh"
    return root / "vyper"


def compiler_version() -> str:
    import vyper

    return f"vyper-{vyper.__version__}"


def compile_source(
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    evm_version: str | None = None,
    use_cache: bool = True,
) -> Artifact:
    """Compile the Vyper file at `path` (cached) and return its artifact.

    `name` defaults to the file's stem (``Token.vy`` -> ``"Token"``).  `evm_version`
    (e.g. ``"cancun"``) defaults to the compiler's own default.
    """
    source_path = Path(path).resolve()
    if not source_path.is_file():
        raise CompileError(f"no Vyper source at {source_path}")
    contract_name = name or source_path.stem
    key = _cache_key(source_path, evm_version)
    entry = cache_dir() / f"{contract_name}-{key}.json"
    if use_cache:
        cached = _read_cache(entry)
        if cached is not None:
            return cached
    artifact = _compile(source_path, contract_name, evm_version)
    if use_cache:
        _write_cache(entry, artifact)
    return artifact


def compile_all(paths: list[str | os.PathLike[str]], **kwargs: Any) -> dict[str, Artifact]:
    """Compile several sources; returns name -> artifact in the order given."""
    artifacts = [compile_source(p, **kwargs) for p in paths]
    return {a.name: a for a in artifacts}


def _cache_key(source_path: Path, evm_version: str | None) -> str:
    digest = hashlib.sha256()
    digest.update(f"{compiler_version()}\0{evm_version or 'default'}\0".encode())
    digest.update(source_path.read_bytes())
    root = source_path.parent
    cache = cache_dir().resolve()
    for dep in sorted(root.rglob("*")):
        if dep.suffix not in _IMPORTABLE or dep == source_path or not dep.is_file():
            continue
        relative = dep.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or dep.resolve().is_relative_to(cache):
            continue
        digest.update(b"\0" + relative.as_posix().encode() + b"\0")
        digest.update(dep.read_bytes())
    return digest.hexdigest()


def _compile(source_path: Path, name: str, evm_version: str | None) -> Artifact:
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import Settings
    from vyper.exceptions import VyperException

    bundle = FilesystemInputBundle([source_path.parent])
    settings = Settings(evm_version=evm_version) if evm_version else None
    try:
        file_input = bundle.load_file(source_path)
        out = compile_from_file_input(
            file_input, input_bundle=bundle, settings=settings, output_formats=["abi", "bytecode"]
        )
    except VyperException as exc:
        raise CompileError(f"{source_path.name} does not compile: {exc}") from exc
    source_sha = hashlib.sha256(source_path.read_bytes()).hexdigest()
    return Artifact(
        name=name, abi=out["abi"], bytecode=out["bytecode"], source_sha256=source_sha, compiler=compiler_version()
    )


def _read_cache(entry: Path) -> Artifact | None:
    try:
        return Artifact.from_json(json.loads(entry.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(entry: Path, artifact: Artifact) -> None:
    """Write atomically, so a concurrent reader never sees half a file."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(artifact.to_json(), f)
        os.replace(tmp, entry)
    except OSError:
        pass  # a cache we cannot write only costs time
