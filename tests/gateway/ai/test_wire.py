"""The AI wire: result bundles a gateway unpacks, and the public API models' defaults."""

from __future__ import annotations

import dataclasses
import io
import tarfile
from pathlib import Path

import pytest

from framemesh.ai.requests import REQUEST_TYPES
from framemesh.gateway.ai.routes import FORM_PIPELINES, JSON_PIPELINES
from framemesh.wire.ai import AIOutput, AIResult, read_ai_bundle, write_ai_bundle
from framemesh.wire.bundle import BundleError, sha256_file
from framemesh.wire.orchestrator import Capabilities


def _bundle(tmp_path: Path, data: bytes = b"png bytes") -> Path:
    out = tmp_path / "image-0.png"
    out.write_bytes(data)
    result = AIResult(
        pipeline="text-to-image", model_id="m", job_id="j", units=64, price=64, orchestrator="o", elapsed=0.1,
        outputs=[AIOutput(file=out.name, kind="image", seed=3, nsfw=False, bytes=out.stat().st_size, sha256=sha256_file(out))],
    )
    return write_ai_bundle(result, {out.name: out}, tmp_path / "result.tar")


def test_bundle_round_trip(tmp_path: Path) -> None:
    result, files = read_ai_bundle(_bundle(tmp_path), tmp_path / "out")
    assert result.outputs[0].seed == 3 and files["image-0.png"].read_bytes() == b"png bytes"


def test_a_file_unlike_its_manifest_is_refused(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    swapped = tmp_path / "swapped.tar"
    with tarfile.open(bundle) as src, tarfile.open(swapped, "w") as dst:
        for member in src:
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "image-0.png":
                data = b"PNG BYTES"
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    with pytest.raises(BundleError, match="size/hash"):
        read_ai_bundle(swapped, tmp_path / "out")


def test_a_bundle_with_an_unnamed_member_is_refused(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path)
    extra = tmp_path / "evil"
    extra.write_bytes(b"x")
    with tarfile.open(bundle, "a") as tar:
        tar.add(extra, arcname="../evil")
    with pytest.raises(BundleError, match="not a plain file name"):
        read_ai_bundle(bundle, tmp_path / "out")


def test_info_without_ai_still_parses() -> None:
    """Orchestrators from before AI send capabilities without `ai`."""
    caps = Capabilities.model_validate({"transcode": {"profiles": ["360p"], "price_per_pixel": 1}})
    assert caps.ai == []


@pytest.mark.parametrize("pipeline", [*JSON_PIPELINES, *FORM_PIPELINES])
def test_api_models_document_the_defaults_the_requests_use(pipeline: str) -> None:
    """The OpenAPI document says what the server does: each default is the request's."""
    model = {**JSON_PIPELINES, **FORM_PIPELINES}[pipeline]
    request_fields = {f.name: f for f in dataclasses.fields(REQUEST_TYPES[pipeline])}
    for name, field in model.model_fields.items():
        if name not in request_fields or name == "model_id":
            continue
        ours = request_fields[name].default
        if ours is dataclasses.MISSING:
            continue
        if field.is_required() and ours == b"":
            continue  # upscale's image: required by the API; empty inside only when a stage sends a video
        if pipeline == "text-to-speech" and name == "description":
            continue  # Livepeer's speaker description; a Piper voice has one speaker
        assert field.default == ours, f"{pipeline}.{name}: documented {field.default!r}, used {ours!r}"
