from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PIL")

from framemesh.ai.cache import ResultCache, cache_key  # noqa: E402
from framemesh.ai.config import ModelOptions, ModelSpec  # noqa: E402
from framemesh.ai.requests import (  # noqa: E402
    ImageOutput,
    ImagesResult,
    TextToImageRequest,
    TextToSpeechRequest,
    UpscaleRequest,
)

SPEC = ModelSpec("text-to-image", "me/sd", Path("/models/sd"))


def test_key_depends_on_every_input() -> None:
    base = TextToImageRequest(prompt="a cat", seed=1)
    key = cache_key(SPEC, base)
    assert key is not None and len(key) == 64
    assert cache_key(SPEC, TextToImageRequest(prompt="a cat", seed=1)) == key
    assert cache_key(SPEC, TextToImageRequest(prompt="a cat", seed=2)) != key
    assert cache_key(SPEC, TextToImageRequest(prompt="a dog", seed=1)) != key
    assert cache_key(SPEC, TextToImageRequest(prompt="a cat", seed=1, width=512)) != key
    other_model = ModelSpec("text-to-image", "me/sd2", Path("/models/sd"))
    assert cache_key(other_model, base) != key
    layered = ModelSpec("text-to-image", "me/sd", Path("/models/sd"), options=ModelOptions(layered_scale=2))
    assert cache_key(layered, base) != key


def test_input_files_are_keyed_by_content() -> None:
    spec = ModelSpec("upscale", "realesrgan/x2")
    assert cache_key(spec, UpscaleRequest(image=b"a")) != cache_key(spec, UpscaleRequest(image=b"b"))
    assert cache_key(spec, UpscaleRequest(image=b"a")) == cache_key(spec, UpscaleRequest(image=b"a"))


def test_random_diffusion_requests_are_never_cached() -> None:
    assert cache_key(SPEC, TextToImageRequest(prompt="a cat", seed=None)) is None
    tts = ModelSpec("text-to-speech", "piper/en_US-joe-medium")
    assert cache_key(tts, TextToSpeechRequest(text="hi")) is not None


def test_store_round_trip_marks_hits(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    result = ImagesResult(images=[ImageOutput(png=b"png", seed=1, nsfw=False)], info={"steps": 2})
    assert cache.get("ab" * 32) is None
    cache.put("ab" * 32, result)
    hit = cache.get("ab" * 32)
    assert hit is not None
    assert hit.images == result.images
    assert hit.info == {"steps": 2, "cache": "hit"}
    assert (cache.hits, cache.misses) == (1, 1)
    assert ResultCache(tmp_path).get("ab" * 32) is not None  # on disk, survives a restart
