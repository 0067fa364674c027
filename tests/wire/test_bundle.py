import tarfile
from pathlib import Path

import pytest

from framemesh.wire.bundle import BundleError, read_bundle, sha256_file, write_bundle
from framemesh.wire.orchestrator import RenditionResult, TranscodeResult


def _result(tmp: Path, payload: bytes = b"x" * 1000) -> tuple[TranscodeResult, dict[str, Path]]:
    f = tmp / "a.mp4"
    f.write_bytes(payload)
    r = TranscodeResult(
        job_id="j",
        segment=3,
        renditions=[RenditionResult(name="360p", file="360p.mp4", width=640, height=360, duration=2.0, frames=60, bytes=len(payload), sha256=sha256_file(f))],
        pixels=640 * 360 * 60,
        orchestrator="o",
        elapsed=0.1,
    )
    return r, {"360p.mp4": f}


def test_round_trip(tmp_path: Path) -> None:
    result, files = _result(tmp_path)
    bundle = write_bundle(result, files, tmp_path / "b.tar")
    got, out = read_bundle(bundle, tmp_path / "out", TranscodeResult)
    assert got == result
    assert out["360p.mp4"].read_bytes() == b"x" * 1000


def test_manifest_and_files_must_agree(tmp_path: Path) -> None:
    result, files = _result(tmp_path)
    with pytest.raises(BundleError, match="manifest names"):
        write_bundle(result, {}, tmp_path / "b.tar")


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    result, files = _result(tmp_path)
    files["360p.mp4"].write_bytes(b"y" * 1000)  # same size, other bytes
    bundle = write_bundle(result.model_copy(), files, tmp_path / "b.tar")
    with pytest.raises(BundleError, match="does not match"):
        read_bundle(bundle, tmp_path / "out", TranscodeResult)


def test_path_traversal_is_refused(tmp_path: Path) -> None:
    result, files = _result(tmp_path)
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        manifest = tmp_path / "result.json"
        manifest.write_text(result.model_dump_json())
        tar.add(manifest, arcname="result.json")
        tar.add(files["360p.mp4"], arcname="../360p.mp4")
    with pytest.raises(BundleError, match="plain file name"):
        read_bundle(evil, tmp_path / "out", TranscodeResult)


def test_garbage_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(BundleError):
        read_bundle(junk, tmp_path / "out", TranscodeResult)
