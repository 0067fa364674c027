"""image-to-video with Stable Video Diffusion (`StableVideoDiffusionPipeline`) from any
diffusers-format SVD directory.

Why SVD: it is the model Livepeer's image-to-video serves, it conditions on the image
alone (no prompt), and diffusers 0.42 builds every part of it (spatio-temporal UNet,
temporal-decoder VAE, CLIP vision encoder) from configs, so `framemesh models tiny`
writes a tiny one of the real architecture that runs on a CPU in about a second.
"""

from __future__ import annotations

from typing import Any

from framemesh.ai.diffusion import DiffusionPipeline, generators, load_diffusers, seeds_for
from framemesh.ai.media import decode_image, encode_png
from framemesh.ai.requests import ImageToVideoRequest, VideoOutput, VideoResult


class ImageToVideo(DiffusionPipeline):
    name = "image-to-video"

    def load(self) -> None:
        from diffusers import StableVideoDiffusionPipeline

        self._m_pipe = load_diffusers(StableVideoDiffusionPipeline, self.spec.path)
        self.loaded = True

    def warmup(self) -> None:
        """One small run, so the first job does not pay torch's first-run costs."""
        from PIL import Image

        self._m_pipe(
            Image.new("RGB", (64, 64)), height=64, width=64, num_frames=2, num_inference_steps=1,
            decode_chunk_size=2, output_type="np",
        )

    @property
    def default_frames(self) -> int:
        return int(self._m_pipe.unet.config.num_frames)

    def _run(self, request: ImageToVideoRequest) -> VideoResult:
        info: dict[str, Any] = {}
        steps = self.steps(request, info)
        image = decode_image(request.image, max_pixels=self.limits.max_input_pixels)
        image = image.resize((request.width, request.height))
        frames_n = request.num_frames or self.default_frames
        seeds = seeds_for(request.seed, request.num_videos)
        self.phases = len(seeds)
        videos = []
        for seed, gen in zip(seeds, generators(seeds), strict=True):
            out = self._m_pipe(
                image,
                height=request.height,
                width=request.width,
                num_frames=frames_n,
                num_inference_steps=steps,
                fps=request.fps,
                motion_bucket_id=request.motion_bucket_id,
                noise_aug_strength=request.noise_aug_strength,
                decode_chunk_size=frames_n,
                generator=gen,
                callback_on_step_end=self.step_callback(),
            )
            frames = list(out.frames[0])
            videos.append(
                VideoOutput(
                    frames=[encode_png(f) for f in frames],
                    fps=request.fps,
                    seed=seed,
                    nsfw=self.nsfw(frames[:: max(1, len(frames) // 4)], request.safety_check),
                )
            )
        info["steps"] = steps
        info["num_frames"] = frames_n
        return VideoResult(videos=videos, info=info)
