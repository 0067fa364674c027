"""The multipart pipelines through a gateway: image-to-image, upscale and image-to-video,
on tiny real models; each output signed with the input image as its ingredient."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from framemesh.provenance.verify import read_provenance
from tests.e2e.ai_nodes import SD, ai_network

pytest.importorskip("diffusers")

TIMEOUT = 180.0
SVD = "framemesh/tiny-svd"


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("ai-images")
    with ai_network(root, ("image-to-image", "upscale", "image-to-video")) as (orch, gw):
        yield {"orchestrator": orch.url, "gateway": gw.url}


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buf, format="PNG")
    return buf.getvalue()


def _size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(data)).size


def _signed(url: str, dest: Path, pipeline: str) -> Path:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200
    dest.write_bytes(response.content)
    verdict = read_provenance(dest)
    assert verdict.status in ("valid", "untrusted"), verdict.problems
    assert verdict.active is not None and verdict.active.pipeline == pipeline
    assert verdict.active.ingredients, "the input image is named as an ingredient"
    return dest


def test_image_to_image(network: dict[str, Any], tmp_path: Path) -> None:
    response = httpx.post(
        f"{network['gateway']}/image-to-image",
        files={"image": ("in.png", _png(68, 48), "image/png")},
        data={"prompt": "make it blue", "model_id": SD, "strength": "0.5", "num_inference_steps": "2", "seed": "5", "loras": ""},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    (image,) = response.json()["images"]
    assert image["seed"] == 5
    out = _signed(image["url"], tmp_path / "out.png", "image-to-image")
    assert _size(out.read_bytes()) == (64, 48), "rounded down to multiples of 8"


def test_upscale(network: dict[str, Any], tmp_path: Path) -> None:
    response = httpx.post(
        f"{network['gateway']}/upscale",
        files={"image": ("in.png", _png(32, 24), "image/png")},
        data={"prompt": "", "model_id": "realesrgan/x2"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    (image,) = response.json()["images"]
    out = _signed(image["url"], tmp_path / "up.png", "upscale")
    assert _size(out.read_bytes()) == (64, 48)


def test_image_to_video(network: dict[str, Any], tmp_path: Path) -> None:
    response = httpx.post(
        f"{network['gateway']}/image-to-video",
        files={"image": ("in.png", _png(64, 64), "image/png")},
        data={"model_id": SVD, "width": "64", "height": "64", "num_inference_steps": "2", "fps": "4", "seed": "1"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    (video,) = response.json()["images"]  # go-livepeer's gateway answers image-to-video this way: MP4 URLs
    assert video["url"].endswith(".mp4")
    out = _signed(video["url"], tmp_path / "video.mp4", "image-to-video")
    import av

    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (64, 64)
        frames = sum(1 for _ in container.decode(video=0))
    # No num_frames sent: the model's own default (the tiny SVD's UNet makes 4) is what
    # both nodes bill, not a guess.
    info = httpx.get(f"{network['orchestrator']}/info", timeout=10).json()
    (svd,) = [c for c in info["capabilities"]["ai"] if c["model_id"] == SVD]
    assert svd["default_frames"] == frames == 4
    (job,) = [j for j in httpx.get(f"{network['gateway']}/ai/jobs", timeout=10).json() if j["stages"][0]["model_id"] == SVD]
    assert job["stages"][0]["units"] == 64 * 64 * 4
