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


def test_the_cache_keeps_to_its_size_and_drops_the_least_recently_used(tmp_path: Path) -> None:
    import os
    import time

    def result(n: int) -> ImagesResult:
        return ImagesResult(images=[ImageOutput(png=os.urandom(10_000), seed=n, nsfw=False)])

    cache = ResultCache(tmp_path, max_bytes=45_000)
    keys = [f"{n:02d}" * 32 for n in range(5)]
    for n, key in enumerate(keys):
        cache.put(key, result(n))
        os.utime(cache._path(key), (time.time() - 100 + n, time.time() - 100 + n))  # written in this order
        if n == 3:
            assert cache.get(keys[0]) is not None  # read again: now the most recently used
    assert cache.size <= 45_000 and cache.evicted >= 1
    assert cache.get(keys[0]) is not None, "recently read: kept"
    assert cache.get(keys[1]) is None, "the least recently used went first"
    assert cache.get(keys[4]) is not None
    assert ResultCache(tmp_path, max_bytes=45_000).size == cache.size, "the size is read back from disk"
