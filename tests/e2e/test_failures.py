"""Orchestrators that die or cheat, and a gateway that restarts (its records in SQLite or
PostgreSQL): the job still completes, once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from framemesh.media.testclip import make_test_clip
from framemesh.net.server import ServerThread
from framemesh.sdk.client import GatewayClient
from tests.e2e.adversary import cheating_orchestrator
from tests.e2e.clips import CLIP_SECONDS, EXPECTED, PROFILES
from tests.e2e.ladder import assert_ladder
from tests.e2e.nodes import gateway_process, gateway_thread, orchestrator_process, orchestrator_thread


def _submit(gateway: str, clip: Path) -> str:
    async def go() -> str:
        async with GatewayClient(gateway) as client:
            return (await client.submit(clip, PROFILES)).id

    return asyncio.run(go())


def _finish(gateway: str, job_id: str, out: Path):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with GatewayClient(gateway) as client:
            status = await client.wait(job_id, timeout=240)
            master = await client.download(status, out) if status.state == "completed" else None
            return status, master

    return asyncio.run(go())


def test_orchestrator_process_killed_mid_job(tmp_path: Path) -> None:
    seconds = 10.0
    clip = make_test_clip(tmp_path / "long.mp4", duration=seconds, width=640, height=360)
    with orchestrator_process(tmp_path, "victim") as victim, orchestrator_process(tmp_path, "survivor") as survivor:
        with gateway_process(tmp_path, [victim.url, survivor.url]) as gw:
            job = _submit(gw.url, clip)
            deadline = time.monotonic() + 60
            while httpx.get(f"{victim.url}/info").json()["load"] == 0:
                assert time.monotonic() < deadline, "the victim never got a segment"
                time.sleep(0.02)
            victim.kill()
            status, master = _finish(gw.url, job, tmp_path / "ladder")
    assert status.state == "completed", status.error
    assert status.segments.done == status.segments.total == 5
    assert sum(status.orchestrators.values()) == 5  # every segment delivered exactly once
    assert survivor.url in status.orchestrators
    assert any(e.orchestrator == victim.url for e in status.errors), "the lost segment should be on record"
    assert_ladder(master, EXPECTED, seconds)


def test_cheating_orchestrator_is_caught_and_avoided(tmp_path: Path, clip: Path, other_clip: Path) -> None:
    cheat_app = cheating_orchestrator(other_clip, tmp_path / "cheat")
    cheater = ServerThread(cheat_app).start()
    honest = orchestrator_thread(tmp_path, "honest")
    gw = gateway_thread(tmp_path, [cheater.url, honest.url], avoid_seconds=60.0)
    try:
        status, master = _finish(gw.url, _submit(gw.url, clip), tmp_path / "ladder")
        assert status.state == "completed", status.error
        assert status.orchestrators == {honest.url: 3}, "nothing from the cheater may be delivered"
        assert cheat_app.state.calls >= 1
        caught = [e for e in status.errors if e.orchestrator == cheater.url]
        assert caught and all("failed the check" in e.message for e in caught)
        pool = {m["url"]: m for m in httpx.get(f"{gw.url}/orchestrators").json()}
        assert pool[cheater.url]["avoided_for"] > 0
        assert_ladder(master, EXPECTED, CLIP_SECONDS)
    finally:
        gw.stop()
        honest.stop()
        cheater.stop()


def test_restarted_gateway_resumes_unfinished_jobs(tmp_path: Path, clip: Path, records_db: Path | str) -> None:
    """On the SQLite file in its data directory, and on PostgreSQL (--database)."""
    database = records_db if isinstance(records_db, str) else None
    dead = "http://127.0.0.1:9"
    first = gateway_thread(tmp_path, [dead], avoid_seconds=30.0, database=database)
    job = _submit(first.url, clip)
    deadline = time.monotonic() + 30
    while httpx.get(f"{first.url}/jobs/{job}").json()["state"] != "transcoding":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.stop()
    assert (tmp_path / "gateway" / "gateway.sqlite").exists() == (database is None), "the records are where they were told to be"

    live = orchestrator_thread(tmp_path, "live")
    second = gateway_thread(tmp_path, [live.url], database=database)
    try:
        status, master = _finish(second.url, job, tmp_path / "ladder")
        assert status.state == "completed", status.error
        assert status.orchestrators == {live.url: 3}
        assert_ladder(master, EXPECTED, CLIP_SECONDS)
    finally:
        second.stop()
    third = gateway_thread(tmp_path, [live.url], database=database)
    try:
        again = httpx.get(f"{third.url}/jobs/{job}").json()
        assert again["state"] == "completed" and again["segments"] == {"done": 3, "total": 3}
    finally:
        third.stop()
        live.stop()
