"""Vyper compilation and its on-disk cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from framemesh.chain import compile as compile_mod
from framemesh.chain.compile import (
    Artifact,
    abi_hash,
    cache_dir,
    compile_all,
    compile_source,
    compiler_version,
)
from framemesh.chain.errors import CompileError

from .conftest import PROBE

LIB = """# pragma version ~=0.4.3
@internal
@pure
def twice(x: uint256) -> uint256:
    return FACTOR * x

FACTOR: constant(uint256) = 2
"""

MAIN = """# pragma version ~=0.4.3
import lib

@external
@pure
def f(x: uint256) -> uint256:
    return lib.twice(x)
"""


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRAMEMESH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "vyper"


@pytest.fixture
def count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = compile_mod._compile

    def counting(path, *args, **kwargs):
        calls.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(compile_mod, "_compile", counting)
    return calls


def test_artifact_is_deployable_shape(fresh_cache: Path) -> None:
    artifact = compile_source(PROBE)
    assert artifact.name == "Probe"
    assert artifact.bytecode.startswith("0x") and len(artifact.bytecode) > 100
    names = {item.get("name") for item in artifact.abi}
    assert {"set_value", "value", "ValueSet", "deposit"} <= names
    assert artifact.compiler == compiler_version() and "0.4.3" in artifact.compiler
    assert len(artifact.source_sha256) == 64


def test_second_compile_hits_the_cache(fresh_cache: Path, count_compiles: list[str]) -> None:
    first = compile_source(PROBE)
    second = compile_source(PROBE)
    assert count_compiles == ["Probe.vy"]
    assert first == second
    assert cache_dir() == fresh_cache
    assert len(list(fresh_cache.glob("Probe-*.json"))) == 1


def test_cache_can_be_bypassed(fresh_cache: Path, count_compiles: list[str]) -> None:
    compile_source(PROBE)
    compile_source(PROBE, use_cache=False)
    assert count_compiles == ["Probe.vy", "Probe.vy"]


def test_changed_source_recompiles(tmp_path: Path, fresh_cache: Path, count_compiles: list[str]) -> None:
    src = tmp_path / "src" / "Probe.vy"
    src.parent.mkdir()
    shutil.copy(PROBE, src)
    a = compile_source(src)
    src.write_text(src.read_text() + "\n\n@external\n@pure\ndef extra() -> uint256:\n    return 1\n")
    b = compile_source(src)
    assert count_compiles == ["Probe.vy", "Probe.vy"]
    assert a.abi_hash != b.abi_hash
    assert "extra" in {i.get("name") for i in b.abi}


def test_imports_resolve_and_an_imported_change_recompiles(
    tmp_path: Path, fresh_cache: Path, count_compiles: list[str]
) -> None:
    (tmp_path / "lib.vy").write_text(LIB)
    (tmp_path / "Main.vy").write_text(MAIN)
    first = compile_source(tmp_path / "Main.vy")
    compile_source(tmp_path / "Main.vy")
    assert count_compiles == ["Main.vy"]
    (tmp_path / "lib.vy").write_text(LIB.replace("= 2", "= 3"))
    second = compile_source(tmp_path / "Main.vy")
    assert count_compiles == ["Main.vy", "Main.vy"]
    assert first.bytecode != second.bytecode


def test_evm_version_is_part_of_the_key(fresh_cache: Path, count_compiles: list[str]) -> None:
    compile_source(PROBE, evm_version="cancun")
    compile_source(PROBE, evm_version="shanghai")
    compile_source(PROBE, evm_version="cancun")
    assert count_compiles == ["Probe.vy", "Probe.vy"]


def test_corrupt_cache_entry_is_rewritten(fresh_cache: Path, count_compiles: list[str]) -> None:
    good = compile_source(PROBE)
    (entry,) = fresh_cache.glob("Probe-*.json")
    entry.write_text("{not json")
    again = compile_source(PROBE)
    assert again == good
    assert json.loads(entry.read_text())["name"] == "Probe"
    assert count_compiles == ["Probe.vy", "Probe.vy"]


def test_unwritable_cache_still_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("FRAMEMESH_CACHE_DIR", str(blocker))  # a file, not a directory
    assert compile_source(PROBE).name == "Probe"


def test_compile_error_names_the_file(tmp_path: Path, fresh_cache: Path) -> None:
    bad = tmp_path / "Bad.vy"
    bad.write_text("# pragma version ~=0.4.3\n@external\ndef f() -> uint256:\n    return undefined_name\n")
    with pytest.raises(CompileError, match="Bad.vy does not compile"):
        compile_source(bad)
    with pytest.raises(CompileError, match="no Vyper source"):
        compile_source(tmp_path / "Missing.vy")


def test_compile_all_and_names(fresh_cache: Path) -> None:
    arts = compile_all([PROBE])
    assert list(arts) == ["Probe"]
    assert compile_source(PROBE, name="Other").name == "Other"


def test_abi_hash_is_canonical() -> None:
    abi = [{"type": "function", "name": "f", "inputs": [], "outputs": []}]
    reordered = [{"outputs": [], "inputs": [], "name": "f", "type": "function"}]
    assert abi_hash(abi) == abi_hash(reordered)
    assert abi_hash(abi) != abi_hash([{**abi[0], "name": "g"}])
    art = Artifact(name="X", abi=abi, bytecode="0x00")
    assert Artifact.from_json(art.to_json()) == art
