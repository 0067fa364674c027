"""The testing faults: a delay and a share of failed jobs, on jobs only."""

from __future__ import annotations

import asyncio
import random

import pytest

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from framemesh.orchestrator.faults import Faults


def app(**faults: float) -> tuple[TestClient, Faults]:
    inner = FastAPI()

    @inner.post("/transcode")
    async def transcode(request: Request) -> dict[str, int]:
        return {"got": len(await request.body())}

    @inner.post("/ai/{pipeline}")
    async def ai(pipeline: str) -> dict[str, str]:
        return {"pipeline": pipeline}

    @inner.get("/info")
    async def info() -> dict[str, bool]:
        return {"ok": True}

    wrapped = Faults(inner, rng=random.Random(1), **faults)
    return TestClient(wrapped), wrapped  # type: ignore[arg-type]


def test_a_share_of_jobs_fail_with_a_500_and_nothing_else_does() -> None:
    client, faults = app(fail_share=0.3)
    codes = [client.post("/transcode", content=b"x" * 100_000).status_code for _ in range(300)]
    failed = codes.count(500)
    assert 60 < failed < 120 and set(codes) == {200, 500} and faults.failed == failed
    ai_codes = [client.post("/ai/text-to-image").status_code for _ in range(200)]
    assert 30 < ai_codes.count(500) < 90
    answer = next(r for r in (client.post("/ai/upscale") for _ in range(50)) if r.status_code == 500)
    assert answer.json()["detail"]["code"] == "injected_failure"
    assert all(client.get("/info").status_code == 200 for _ in range(50)), "only jobs fail"


def test_jobs_are_slowed_and_reads_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr("framemesh.orchestrator.faults.asyncio.sleep", sleep)
    client, _ = app(slow_seconds=2.5)
    assert client.post("/transcode", content=b"abc").json() == {"got": 3}
    assert client.post("/ai/llm").json() == {"pipeline": "llm"}
    assert client.get("/info").json() == {"ok": True}
    assert slept == [2.5, 2.5], "each job waits, a read does not"
