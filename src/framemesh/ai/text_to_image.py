"""text-to-image from any diffusers-format Stable Diffusion directory.

Cost savers (options of the model in models.toml, see `ModelOptions`):

- layered generation (`layered_scale` 2 or 4): denoise at 1/scale of the asked size,
  upscale with Real-ESRGAN to the asked size, and optionally refine with a short
  image-to-image pass (`refine_strength`, `refine_steps`);
- cached prompt embeddings (`prompt_embeds_cache`): the text encoder runs once per
  distinct prompt;
- reuse of a similar earlier result (`similar_threshold`): when an earlier prompt's
  minilm embedding is this close (cosine) at the same size, refine that image with
  image-to-image at `similar_strength` (so a fraction of the steps) instead;
- steps by complexity (`auto_steps_min..max`) when the request's steps are null;
- feature caching across steps (`feature_cache`): `framemesh.ai.feature_cache`.

`result.info` says which of them ran.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from framemesh.ai.diffusion import DiffusionPipeline, PromptEmbeddingsCache, generators, load_diffusers, seeds_for
from framemesh.ai.requests import ImagesResult, TextToImageRequest

MAX_REMEMBERED = 256


@dataclass
class _Earlier:
    vector: np.ndarray
    prompt: str
    size: tuple[int, int]
    image: Image.Image


class TextToImage(DiffusionPipeline):
    name = "text-to-image"

    def load(self) -> None:
        from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image

        from framemesh.ai.feature_cache import enable_feature_cache

        self._m_pipe = load_diffusers(AutoPipelineForText2Image, self.spec.path)
        self._m_img2img = AutoPipelineForImage2Image.from_pipe(self._m_pipe)
        self._m_img2img.set_progress_bar_config(disable=True)
        opts = self.spec.options
        self._m_feature_cache = enable_feature_cache(self._m_pipe, opts.feature_cache)
        self._m_embeds = PromptEmbeddingsCache(opts.prompt_embeds_cache)
        self._m_upscaler = None
        if opts.layered_scale > 1:
            from framemesh.ai.upscale import Upscaler

            self._m_upscaler = Upscaler(opts.layered_scale)
        self._m_embedder = None
        self._m_earlier: list[_Earlier] = []
        if opts.similar_threshold > 0:
            from framemesh.ai.embeddings import TextEmbedder

            self._m_embedder = TextEmbedder()
        self.loaded = True

    def warmup(self) -> None:
        self._m_pipe("warm up", height=64, width=64, num_inference_steps=1, output_type="np")

    @property
    def embeddings_cache(self) -> PromptEmbeddingsCache:
        return self._m_embeds

    def _run(self, request: TextToImageRequest) -> ImagesResult:
        info: dict[str, Any] = {}
        steps = self.steps(request, info)
        seeds = seeds_for(request.seed, request.num_images_per_prompt)
        size = (request.width, request.height)
        vector = self._embed(request.prompt)
        earlier = self._similar(vector, size) if vector is not None else None
        refines = request.num_images_per_prompt if self.spec.options.refine_strength > 0 else 0
        self.phases = 1 + (refines if self._m_upscaler is not None else 0)
        if earlier is not None and request.num_images_per_prompt == 1:
            info["reused_from"] = earlier.prompt
            images = self._refine(request, [earlier.image], self.spec.options.similar_strength, steps, seeds)
        elif self._m_upscaler is not None:
            images = self._layered(request, steps, seeds, info)
        else:
            images = self._generate(request, request.width, request.height, steps, seeds)
        if vector is not None:
            self._remember(_Earlier(vector, request.prompt, size, images[0]))
        info["steps"] = steps
        if self._m_feature_cache is not None:
            info["feature_cache_skipped"] = self._m_feature_cache.skipped
        return ImagesResult(images=self.outputs(images, seeds, request.safety_check), info=info)

    def _generate(self, request: TextToImageRequest, width: int, height: int, steps: int, seeds: list[int]) -> list[Image.Image]:
        if self._m_feature_cache is not None:
            self._m_feature_cache.reset()
        cfg = request.guidance_scale > 1.0
        prompt = self._m_embeds.prompt_args(self._m_pipe, request.prompt, request.negative_prompt, cfg)
        out = self._m_pipe(
            **prompt,
            height=height,
            width=width,
            guidance_scale=request.guidance_scale,
            num_inference_steps=steps,
            num_images_per_prompt=len(seeds),
            generator=generators(seeds),
            callback_on_step_end=self.step_callback(),
        )
        return list(out.images)

    def _layered(self, request: TextToImageRequest, steps: int, seeds: list[int], info: dict[str, Any]) -> list[Image.Image]:
        scale = self.spec.options.layered_scale
        low_w = max(8, request.width // scale // 8 * 8)
        low_h = max(8, request.height // scale // 8 * 8)
        low = self._generate(request, low_w, low_h, steps, seeds)
        images = []
        for img in low:
            up = self._m_upscaler(img)
            if up.size != (request.width, request.height):
                up = up.resize((request.width, request.height), Image.Resampling.LANCZOS)
            images.append(up)
        info["layered"] = {"low": [low_w, low_h], "scale": scale}
        strength = self.spec.options.refine_strength
        if strength > 0:
            images = self._refine(request, images, strength, self.spec.options.refine_steps, seeds, exact_steps=True)
            info["layered"]["refined"] = strength
        return images

    def _refine(self, request: TextToImageRequest, images: list[Image.Image], strength: float, steps: int, seeds: list[int], exact_steps: bool = False) -> list[Image.Image]:
        """image-to-image at `strength`: runs about steps×strength denoising steps."""
        cfg = request.guidance_scale > 1.0
        prompt = self._m_embeds.prompt_args(self._m_img2img, request.prompt, request.negative_prompt, cfg)
        total = math.ceil(steps / strength) if exact_steps else steps
        out = []
        for img, gen in zip(images, generators(seeds), strict=True):
            if self._m_feature_cache is not None:
                self._m_feature_cache.reset()
            result = self._m_img2img(
                **prompt,
                image=img,
                strength=strength,
                guidance_scale=request.guidance_scale,
                num_inference_steps=max(total, 1),
                generator=gen,
                callback_on_step_end=self.step_callback(),
            )
            out.append(result.images[0])
        return out

    def _embed(self, prompt: str) -> np.ndarray | None:
        if self._m_embedder is None:
            return None
        return self._m_embedder.embed([prompt])[0]

    def _similar(self, vector: np.ndarray, size: tuple[int, int]) -> _Earlier | None:
        best, best_score = None, self.spec.options.similar_threshold
        for earlier in self._m_earlier:
            if earlier.size != size:
                continue
            score = float(vector @ earlier.vector)
            if score >= best_score:
                best, best_score = earlier, score
        return best

    def _remember(self, earlier: _Earlier) -> None:
        self._m_earlier.append(earlier)
        del self._m_earlier[:-MAX_REMEMBERED]
