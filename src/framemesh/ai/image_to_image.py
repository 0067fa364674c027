"""image-to-image from any diffusers-format Stable Diffusion directory.

The output has the input's size rounded down to multiples of 8 (latents are 1/8 of
the image); `strength` is how much of the input is replaced by noise, so about
steps × strength denoising steps run.
"""

from __future__ import annotations

from typing import Any

from framemesh.ai.diffusion import DiffusionPipeline, PromptEmbeddingsCache, generators, load_diffusers, seeds_for
from framemesh.ai.media import decode_image
from framemesh.ai.requests import ImageToImageRequest, ImagesResult, output_size


class ImageToImage(DiffusionPipeline):
    name = "image-to-image"

    def load(self) -> None:
        from diffusers import AutoPipelineForImage2Image

        self._m_pipe = load_diffusers(AutoPipelineForImage2Image, self.spec.path)
        self._m_embeds = PromptEmbeddingsCache(self.spec.options.prompt_embeds_cache)
        self.loaded = True

    def _run(self, request: ImageToImageRequest) -> ImagesResult:
        info: dict[str, Any] = {}
        steps = self.steps(request, info)
        width, height = output_size(request.image)
        image = decode_image(request.image, max_pixels=self.limits.max_input_pixels)
        if image.size != (width, height):
            image = image.crop((0, 0, width, height))
        seeds = seeds_for(request.seed, request.num_images_per_prompt)
        cfg = request.guidance_scale > 1.0
        prompt = self._m_embeds.prompt_args(self._m_pipe, request.prompt, request.negative_prompt, cfg)
        out = self._m_pipe(
            **prompt,
            image=image,
            strength=request.strength,
            guidance_scale=request.guidance_scale,
            num_inference_steps=steps,
            num_images_per_prompt=len(seeds),
            generator=generators(seeds),
            callback_on_step_end=self.step_callback(),
        )
        info["steps"] = steps
        return ImagesResult(images=self.outputs(list(out.images), seeds, request.safety_check), info=info)
