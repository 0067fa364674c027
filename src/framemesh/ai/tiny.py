"""Tiny randomly-initialised models of each diffusion pipeline's real architecture.

`write_tiny_models(dir)` writes, with `save_pretrained`, in diffusers format:

- `tiny-sd/`: Stable Diffusion (UNet2DConditionModel, AutoencoderKL, CLIP text
  encoder, CLIP BPE tokenizer written to disk, DDIM scheduler) with a few channels:
  served for text-to-image and image-to-image.
- `tiny-svd/`: Stable Video Diffusion (UNetSpatioTemporalConditionModel,
  AutoencoderKLTemporalDecoder, CLIP vision encoder, Euler scheduler): image-to-video.
- `tiny-llm/`: a two-layer LlamaForCausalLM and a byte-level BPE tokenizer with a chat
  template (`framemesh.ai.tiny_llm`): llm.

and `models.toml` serving them plus the built-in models, so every pipeline runs
through its real loading path on a CPU in seconds. Random weights make noise images,
but the compute path, shapes, seeds and file formats are the real ones.

`write_sd15_random(dir)` writes Stable Diffusion 1.5's architecture at full size with
random weights (for benchmarks: `benchmarks/ai.py`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from framemesh.ai.tiny_llm import LLM_ID, write_tiny_llm

SD_ID = "framemesh/tiny-sd"
SVD_ID = "framemesh/tiny-svd"


def write_tiny_models(out: str | Path, seed: int = 0) -> Path:
    """Write the tiny models and `out/models.toml`; return the TOML's path."""
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    write_tiny_sd(out / "tiny-sd")
    torch.manual_seed(seed)
    write_tiny_svd(out / "tiny-svd")
    write_tiny_llm(out / "tiny-llm", seed=seed)
    toml = out / "models.toml"
    toml.write_text(MODELS_TOML)
    return toml


MODELS_TOML = f"""\
# Written by `framemesh models tiny`: tiny random diffusion models + the built-ins.
cache_dir = "cache"

[[models]]
pipeline = "text-to-image"
model_id = "{SD_ID}"
path = "tiny-sd"
price_per_unit = 1

[[models]]
pipeline = "image-to-image"
model_id = "{SD_ID}"
path = "tiny-sd"
price_per_unit = 1

[[models]]
pipeline = "live-video-to-video"
model_id = "{SD_ID}"
path = "tiny-sd"
price_per_unit = 1

[[models]]
pipeline = "live-video-to-video"
model_id = "framemesh/face-blur"
price_per_unit = 1

[[models]]
pipeline = "image-to-video"
model_id = "{SVD_ID}"
path = "tiny-svd"
price_per_unit = 1

[[models]]
pipeline = "upscale"
model_id = "realesrgan/x2"
price_per_unit = 1

[[models]]
pipeline = "audio-to-text"
model_id = "pocketsphinx/en-us"
price_per_unit = 1

[[models]]
pipeline = "text-to-speech"
model_id = "piper/en_US-joe-medium"
price_per_unit = 100

[[models]]
pipeline = "llm"
model_id = "{LLM_ID}"
path = "tiny-llm"
price_per_unit = 10

[[models]]
pipeline = "mux"
model_id = "framemesh/mux"
price_per_unit = 1
"""


def write_tiny_tokenizer(out: Path) -> None:
    """A CLIP BPE tokenizer over single bytes (no merges), from files on disk.

    transformers 5's `CLIPTokenizer(vocab_file=..., merges_file=...)` silently ignores
    both files; `from_pretrained(dir)` reads them.
    """
    from transformers import CLIPTokenizer

    chars = _byte_chars()
    vocab = {c: i for i, c in enumerate(chars)}
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(vocab))
    (out / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer.from_pretrained(str(out), local_files_only=True, model_max_length=77)
    tokenizer.save_pretrained(str(out))


def _byte_chars() -> list[str]:
    """GPT-2/CLIP's printable stand-ins for the 256 byte values."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = [], 0
    for b in range(256):
        if b in printable:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return chars


def write_tiny_sd(out: Path) -> None:
    from diffusers import AutoencoderKL, UNet2DConditionModel

    unet = UNet2DConditionModel(
        block_out_channels=(16, 32),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=(8, 16, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=4,
        sample_size=64,
    )
    text = {"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 2}
    _save_sd(out, unet, vae, text)


def write_sd15_random(out: str | Path, seed: int = 0) -> Path:
    """Stable Diffusion 1.5's architecture at full size (UNet 860 M, VAE 84 M, CLIP text
    encoder 123 M parameters: SD 1.5's own configs) with random weights, for timing:
    the compute per step is the real one, the images are noise. About 4.3 GB on disk."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel

    out = Path(out)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        block_out_channels=(320, 640, 1280, 1280),
        layers_per_block=2,
        cross_attention_dim=768,
        attention_head_dim=8,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(128, 256, 512, 512),
        layers_per_block=2,
        latent_channels=4,
        sample_size=512,
    )
    text = {
        "hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12,
        "projection_dim": 768, "hidden_act": "quick_gelu", "vocab_size": 49408,  # CLIP ViT-L/14's
    }
    _save_sd(out, unet, vae, text)
    return out


def _save_sd(out: Path, unet: Any, vae: Any, text: dict[str, Any]) -> None:
    """A StableDiffusionPipeline of these parts, a CLIP text encoder of `text`'s sizes,
    the on-disk tokenizer and a DDIM scheduler, saved to `out`."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    write_tiny_tokenizer(out / "tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(str(out / "tokenizer"), local_files_only=True)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
            max_position_embeddings=77,
            **{"vocab_size": len(tokenizer), **text},
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(str(out))


def write_tiny_svd(out: Path) -> None:
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        StableVideoDiffusionPipeline,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
    )

    unet = UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64),  # GroupNorm of 32 groups is fixed in this UNet
        layers_per_block=1,
        sample_size=8,
        in_channels=8,
        out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        cross_attention_dim=16,
        num_attention_heads=2,
        projection_class_embeddings_input_dim=3 * 8,
        addition_time_embed_dim=8,
        num_frames=4,
    )
    vae = AutoencoderKLTemporalDecoder(
        block_out_channels=(32, 32, 32, 32),  # 1/8-size latents like the real VAE
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        latent_channels=4,
    )
    image_encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=16,
            projection_dim=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=224,
            intermediate_size=32,
            patch_size=32,
        )
    )
    feature_extractor = CLIPImageProcessor(crop_size=224, size=224)
    scheduler = EulerDiscreteScheduler(
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        interpolation_type="linear",
        num_train_timesteps=1000,
        prediction_type="v_prediction",
        sigma_max=700.0,
        sigma_min=0.002,
        steps_offset=1,
        timestep_spacing="leading",
        timestep_type="continuous",
        use_karras_sigmas=True,
    )
    pipe = StableVideoDiffusionPipeline(
        vae=vae,
        image_encoder=image_encoder,
        unet=unet,
        scheduler=scheduler,
        feature_extractor=feature_extractor,
    )
    pipe.save_pretrained(str(out))
