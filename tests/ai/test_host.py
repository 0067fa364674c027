"""ModelHost with real worker processes (spawned once for the module: each loads
torch and its model, which takes seconds)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import threading
from typing import Any

import pytest
import pytest_asyncio

pytest.importorskip("diffusers")
pytest.importorskip("piper")

from framemesh.ai.config import AIConfig  # noqa: E402
from framemesh.ai.errors import InvalidRequest, ModelLoadError, UnknownModel, WorkerDied  # noqa: E402
from framemesh.ai.host import ModelHost  # noqa: E402
from framemesh.ai.pipeline import Progress  # noqa: E402
from framemesh.ai.requests import TextToImageRequest, TextToSpeechRequest  # noqa: E402
from framemesh.ai.tiny import SD_ID  # noqa: E402
from tests.ai.conftest import image_of  # noqa: E402

TTS_ID = "piper/en_US-joe-medium"
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host(tiny_config: AIConfig, tmp_path_factory: pytest.TempPathFactory) -> Any:
    t2i = tiny_config.find("text-to-image", SD_ID)
    tts = dataclasses.replace(tiny_config.find("text-to-speech", TTS_ID), warm=False)
    broken = dataclasses.replace(t2i, model_id="broken", path=tmp_path_factory.mktemp("empty"), warm=False)
    config = AIConfig(models=(t2i, tts, broken), cache_dir=tmp_path_factory.mktemp("ai-cache"))
    async with ModelHost(config, timeout=120) as started:
        yield started


def _status(host: ModelHost, pipeline: str, model_id: str | None = None) -> Any:
    model_id = model_id or (SD_ID if pipeline == "text-to-image" else TTS_ID)
    return next(s for s in host.status() if (s.pipeline, s.model_id) == (pipeline, model_id))


async def test_warm_models_start_and_cold_ones_on_first_use(host: ModelHost) -> None:
    t2i = _status(host, "text-to-image")
    assert (t2i.model_id, t2i.warm, t2i.capacity, t2i.in_use, t2i.price_per_unit) == (SD_ID, True, 1, 0, 1)
    assert _status(host, "text-to-speech").warm is False
    result = await host.run("text-to-speech", TTS_ID, TextToSpeechRequest(text="Hello there."))
    assert result.wav.startswith(b"RIFF") and result.duration > 0.3
    assert _status(host, "text-to-speech").warm is True


async def test_runs_in_a_worker_process(host: ModelHost) -> None:
    [pid] = host.worker_pids("text-to-image", SD_ID)
    assert pid != os.getpid()
    request = TextToImageRequest(prompt="a cat", width=64, height=32, seed=11, num_inference_steps=2)
    result = await host.run("text-to-image", SD_ID, request)
    assert image_of(result.images[0].png).size == (64, 32)
    assert result.images[0].seed == 11


async def test_cache_hit_does_not_touch_the_worker(host: ModelHost) -> None:
    request = TextToImageRequest(prompt="a cached cat", width=32, height=32, seed=5, num_inference_steps=2)
    first = await host.run("text-to-image", SD_ID, request)
    assert "cache" not in first.info
    [pid] = host.worker_pids("text-to-image", SD_ID)
    os.kill(pid, signal.SIGSTOP)  # a frozen worker cannot answer: only the cache can
    try:
        hit = await asyncio.wait_for(host.run("text-to-image", SD_ID, request), 10)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert hit.info["cache"] == "hit"
    assert hit.images[0].png == first.images[0].png
    assert host.cache is not None and host.cache.hits >= 1


async def test_a_worker_killed_mid_job_raises_and_is_restarted(host: ModelHost) -> None:
    [pid] = host.worker_pids("text-to-image", SD_ID)
    slow = TextToImageRequest(prompt="a slow cat", width=256, height=256, seed=None, num_inference_steps=200)
    denoising = threading.Event()  # set by the worker's first progress report: it is mid-job

    def progressed(piece: object) -> None:
        if isinstance(piece, Progress) and 0 < piece.done < piece.total:
            denoising.set()

    job = asyncio.create_task(host.run("text-to-image", SD_ID, slow, progressed))
    assert await asyncio.to_thread(denoising.wait, 60), "the job never began denoising"
    assert not job.done()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerDied, match="killed by signal 9"):
        await job
    request = TextToImageRequest(prompt="after the crash", width=32, height=32, seed=1, num_inference_steps=2)
    result = await host.run("text-to-image", SD_ID, request)  # waits for the restarted worker
    assert image_of(result.images[0].png).size == (32, 32)
    [new_pid] = host.worker_pids("text-to-image", SD_ID)
    assert new_pid != pid
    assert _status(host, "text-to-image").warm is True


async def test_a_cancelled_job_keeps_its_worker_until_it_answers(host: ModelHost) -> None:
    slow = TextToImageRequest(prompt="abandoned", width=64, height=64, seed=None, num_inference_steps=40)
    job = asyncio.create_task(host.run("text-to-image", SD_ID, slow))
    for _ in range(200):
        await asyncio.sleep(0.05)
        if _status(host, "text-to-image").in_use == 1:
            break
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert _status(host, "text-to-image").in_use == 1  # the process is still busy with it
    request = TextToImageRequest(prompt="next", width=40, height=24, seed=3, num_inference_steps=1)
    result = await host.run("text-to-image", SD_ID, request)  # waits, then gets its own answer
    assert image_of(result.images[0].png).size == (40, 24)
    assert result.images[0].seed == 3
    assert _status(host, "text-to-image").in_use == 0


async def test_unknown_models_and_bad_requests_never_reach_a_worker(host: ModelHost) -> None:
    with pytest.raises(UnknownModel, match=r"no text-to-image model 'nope' here; served: .*framemesh/tiny-sd"):
        await host.run("text-to-image", "nope", TextToImageRequest(prompt="a"))
    with pytest.raises(InvalidRequest, match="takes a TextToImageRequest"):
        await host.run("text-to-image", SD_ID, TextToSpeechRequest(text="a"))
    [pid] = host.worker_pids("text-to-image", SD_ID)
    os.kill(pid, signal.SIGSTOP)  # would hang if the bad request got through
    try:
        with pytest.raises(InvalidRequest, match="height must be a multiple of 8"):
            await asyncio.wait_for(
                host.run("text-to-image", SD_ID, TextToImageRequest(prompt="a", width=64, height=63)), 10
            )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert _status(host, "text-to-image").in_use == 0


async def test_a_model_that_cannot_load_says_so_and_the_host_stays_up(host: ModelHost) -> None:
    request = TextToImageRequest(prompt="a", width=32, height=32, seed=1, num_inference_steps=1)
    with pytest.raises(ModelLoadError, match="cannot load"):
        await host.run("text-to-image", "broken", request)
    assert _status(host, "text-to-image", "broken").warm is False
    assert _status(host, "text-to-image", "broken").in_use == 0
    result = await host.run("text-to-image", SD_ID, request)
    assert image_of(result.images[0].png).size == (32, 32)
