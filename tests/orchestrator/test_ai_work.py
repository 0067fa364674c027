"""Packaging an AI result: files written, each C2PA-signed with its inputs as
ingredients, and a bundle the gateway can read. No model needed: results are built
from the real result types."""

from __future__ import annotations

import hashlib
import io
import wave
from pathlib import Path

import pytest

from framemesh.ai.requests import (
    AudioResult,
    ImageOutput,
    ImagesResult,
    TextChunk,
    TextResult,
)
from framemesh.orchestrator.ai_work import input_suffix, package_result
from framemesh.orchestrator.signing import dev_signing_spec
from framemesh.provenance.verify import read_provenance
from framemesh.wire.ai import read_ai_bundle


def _png(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 8), color).save(buf, format="PNG")
    return buf.getvalue()


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 160)
    return buf.getvalue()


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return dev_signing_spec(tmp_path_factory.mktemp("keys"), address=None, name="o-test")


def test_images_are_signed_with_the_input_as_ingredient(tmp_path: Path, signing) -> None:  # type: ignore[no-untyped-def]
    source = _png((1, 2, 3))
    result = ImagesResult(images=[ImageOutput(_png((9, 9, 9)), seed=4, nsfw=False), ImageOutput(_png((8, 8, 8)), seed=5, nsfw=True)],
                          info={"cache": "miss", "steps": 2, "odd": object()})
    bundle = package_result(
        "image-to-image", "m/sd", result, {"image": source}, tmp_path / "work", signing,
        job_id="job-1", units=256, price=512, orchestrator="o-test", started=0.0,
    )
    manifest, files = read_ai_bundle(bundle, tmp_path / "out")
    assert [(o.file, o.seed, o.nsfw, o.kind) for o in manifest.outputs] == [
        ("image-0.png", 4, False, "image"), ("image-1.png", 5, True, "image")
    ]
    assert (manifest.units, manifest.price, manifest.job_id) == (256, 512, "job-1")
    assert manifest.info["cache"] == "miss" and isinstance(manifest.info["odd"], str)
    for path in files.values():
        verdict = read_provenance(path)
        assert verdict.status == "untrusted", verdict.problems  # signed, by a dev CA nobody anchored here
        active = verdict.active
        assert active is not None
        assert (active.pipeline, active.model, active.job_id) == ("image-to-image", "m/sd", "job-1")
        assert hashlib.sha256(source).hexdigest() in active.ingredient_sha256


def test_speech_and_text(tmp_path: Path, signing) -> None:  # type: ignore[no-untyped-def]
    speech = package_result(
        "text-to-speech", "piper/x", AudioResult(_wav(), 16000, 0.01), {}, tmp_path / "a", signing,
        job_id="j", units=3, price=0, orchestrator="o", started=0.0,
    )
    manifest, files = read_ai_bundle(speech, tmp_path / "a-out")
    assert [o.kind for o in manifest.outputs] == ["audio"]
    assert read_provenance(files["speech.wav"]).active.pipeline == "text-to-speech"  # type: ignore[union-attr]

    text = TextResult("hello there", [TextChunk((0.0, 0.5), "hello there")])
    heard = package_result(
        "audio-to-text", "sphinx", text, {"audio": _wav()}, tmp_path / "t", signing,
        job_id="j", units=10, price=0, orchestrator="o", started=0.0,
    )
    manifest, files = read_ai_bundle(heard, tmp_path / "t-out")
    assert manifest.outputs == [] and files == {}
    assert manifest.text == "hello there" and manifest.chunks[0].timestamp == [0.0, 0.5]


@pytest.mark.parametrize(
    ("data", "suffix"),
    [(b"\x89PNG\r\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"RIFF\0\0\0\0WEBPVP8", ".webp"),
     (b"RIFF\0\0\0\0WAVEfmt", ".wav"), (b"ID3\x04", ".mp3"), (b"?", ".bin")],
)
def test_input_suffix(data: bytes, suffix: str) -> None:
    assert input_suffix(data) == suffix
