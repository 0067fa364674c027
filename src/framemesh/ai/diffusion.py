"""What the diffusers pipelines share: loading a diffusers-format directory offline,
seeds, the prompt-embeddings cache, the safety verdict and the step choice."""

from __future__ import annotations

import os
import random
from collections import OrderedDict
from typing import Any

from PIL import Image

from framemesh.ai.complexity import choose_steps
from framemesh.ai.errors import ModelLoadError
from framemesh.ai.pipeline import Pipeline
from framemesh.ai.requests import ImageOutput
from framemesh.ai.media import encode_png


def load_diffusers(cls: Any, path: Any) -> Any:
    """`cls.from_pretrained(path)` from local files only, float32 on the CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    if path is None:
        raise ModelLoadError("a diffusers pipeline needs a model directory (`path` in models.toml)")
    try:
        pipe = cls.from_pretrained(str(path), local_files_only=True, torch_dtype=torch.float32)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ModelLoadError(f"cannot load a {cls.__name__} from {path}: {exc}") from None
    pipe.set_progress_bar_config(disable=True)
    return pipe.to("cpu")


def seeds_for(seed: int | None, count: int) -> list[int]:
    """One seed per output: the request's seed, +1, +2, ... (random when None)."""
    base = seed if seed is not None else random.randrange(2**32 - count)
    return [(base + i) % 2**32 for i in range(count)]


def generators(seeds: list[int]) -> list[Any]:
    import torch

    return [torch.Generator("cpu").manual_seed(s) for s in seeds]


class PromptEmbeddingsCache:
    """LRU of (prompt, negative prompt, guidance on) → text-encoder output."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self._items: OrderedDict[tuple[str, str, bool], tuple[Any, Any]] = OrderedDict()

    def prompt_args(self, pipe: Any, prompt: str, negative: str, cfg: bool) -> dict[str, Any]:
        """Keyword arguments that give `pipe` its prompt: cached embeddings when the
        pipeline is Stable Diffusion's (its encode_prompt gives two tensors), else the
        text itself (other architectures encode it their own way)."""
        from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline

        if self.size and isinstance(pipe, (StableDiffusionPipeline, StableDiffusionImg2ImgPipeline)):
            embeds, negative_embeds = self.get(pipe, prompt, negative, cfg)
            return {"prompt_embeds": embeds, "negative_prompt_embeds": negative_embeds}
        return {"prompt": prompt, "negative_prompt": negative or None}

    def get(self, pipe: Any, prompt: str, negative: str, cfg: bool) -> tuple[Any, Any]:
        key = (prompt, negative, cfg)
        if key in self._items:
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key]
        embeds = pipe.encode_prompt(
            prompt, "cpu", 1, cfg, negative_prompt=negative or None
        )
        if self.size:
            self._items[key] = embeds
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return embeds


class DiffusionPipeline(Pipeline):
    """Base of text-to-image, image-to-image and image-to-video."""

    def _safety(self) -> Any:
        if getattr(self, "_m_safety", None) is None:
            from framemesh.ai.safety import SafetyChecker

            self._m_safety = SafetyChecker()
        return self._m_safety

    def nsfw(self, images: list[Image.Image], check: bool) -> bool:
        return check and any(self._safety().is_nsfw(img) for img in images)

    def outputs(self, images: list[Image.Image], seeds: list[int], check: bool) -> list[ImageOutput]:
        return [
            ImageOutput(png=encode_png(img), seed=s, nsfw=self.nsfw([img], check))
            for img, s in zip(images, seeds, strict=True)
        ]

    def steps(self, request: Any, info: dict[str, Any]) -> int:
        if request.num_inference_steps is not None:
            return int(request.num_inference_steps)
        opts = self.spec.options
        prompt = getattr(request, "prompt", "")
        steps = choose_steps(prompt, opts.auto_steps_min, opts.auto_steps_max)
        info["auto_steps"] = steps
        return steps
