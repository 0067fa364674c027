"""The transcode runner (`JobRunner`) on its own: a real orchestrator on loopback, a
real store and pool, and a client that puts 402s in front of the real one."""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.errors import PeerUnpaid
from framemesh.gateway.vod.jobs import JobState, SegmentState
from framemesh.gateway.core.peer import OrchestratorClient
from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.vod.runner import JobRunner
from framemesh.gateway.vod.store import JobStore
from framemesh.media.testclip import make_test_clip
from framemesh.net.client import make_client
from tests.e2e.nodes import orchestrator_thread


class Ledger:
    """A payer that records refunds and resyncs (a stand-in for the chain-backed one)."""

    def __init__(self) -> None:
        self.refunds = 0
        self.resyncs: list[Fraction] = []

    async def pay(self, url: str, price: int, ahead: int = 0) -> tuple[str, str]:
        return "tickets", "tickets"

    def unread(self, payment: str) -> None:
        self.refunds += 1  # voided: the same here

    def refund(self, url: str, price: int) -> None:
        self.refunds += 1

    def forget(self, url: str) -> None:
        pass

    def resync(self, url: str, balance: Fraction) -> None:
        self.resyncs.append(balance)


class Refusing:
    """The real client, but the first `refusals[(job, segment)]` calls answer 402."""

    def __init__(self, real: OrchestratorClient, refusals: dict[tuple[str, int], int]) -> None:
        self.real = real
        self.refusals = refusals
        self.calls: list[tuple[str, int]] = []

    async def transcode(self, url: str, segment: Path, profiles: tuple[str, ...], *, job_id: str, index: int,
                        **kwargs: Any) -> Any:
        self.calls.append((job_id, index))
        if self.refusals.get((job_id, index), 0) > 0:
            self.refusals[(job_id, index)] -= 1
            raise PeerUnpaid(url, "insufficient_payment", "the tickets do not cover the price", "0")
        kwargs["payment"] = None  # the orchestrator runs off-chain: its work is free
        return await self.real.transcode(url, segment, profiles, job_id=job_id, index=index, **kwargs)


@dataclass
class World:
    runner: JobRunner
    store: JobStore
    pool: OrchestratorPool
    url: str
    clip: Path


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    orch = orchestrator_thread(tmp_path, "o1", capacity=2)
    config = GatewayConfig(data_dir=tmp_path / "gw", orchestrators=(orch.url,), verify_workers=1)
    store = JobStore(config.db_path)
    pool = OrchestratorPool()
    pool.set_info(orch.url, 2)
    http = make_client(timeout=60)
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
    clip = make_test_clip(tmp_path / "clip.mp4", duration=4.0, width=320, height=180, audio=False)
    runner = JobRunner(config, store, pool, OrchestratorClient(http), executor, Ledger())  # type: ignore[arg-type]
    try:
        yield World(runner, store, pool, orch.url, clip)
    finally:
        await runner.shutdown()
        await http.aclose()
        executor.shutdown()
        store.close()
        orch.stop()


def _add(world: World, job_id: str) -> None:
    job_dir = world.runner.job_dir(job_id)
    job_dir.mkdir(parents=True)
    source = job_dir / "source.mp4"
    shutil.copy(world.clip, source)
    world.store.add_job(job_id, ("240p",), source, "clip.mp4")


async def test_a_job_is_segmented_transcoded_checked_and_assembled(world: World) -> None:
    _add(world, "a")
    await world.runner.run("a")
    job = world.store.job("a")
    assert job.state is JobState.COMPLETED, job.error
    segments = world.store.segments("a")
    assert len(segments) == 2 and all(s.state is SegmentState.DONE for s in segments)
    assert world.store.work_by_orchestrator("a") == {world.url: 2}
    assert job.master and (world.runner.config.outputs_dir / job.master).is_file()
    assert world.pool.members[world.url].successes == 2 and world.pool.members[world.url].in_flight == 0
    assert not world.runner.job_dir("a").exists(), "the working files (source, segments) go when the job ends"


async def test_a_finished_job_leaves_no_task_behind(world: World) -> None:
    _add(world, "t")
    world.runner.submit("t")
    task = world.runner._tasks["t"]
    await task
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert world.store.job("t").state is JobState.COMPLETED
    assert world.runner._tasks == {}


async def test_one_jobs_402s_never_count_against_a_later_job(world: World) -> None:
    """B3: two refusals per segment, on two jobs in turn, are fixed and paid again each
    time; the orchestrator never counts as failed and no segment loses an attempt."""
    refusals = {(job, i): 2 for job in ("a", "b") for i in range(2)}
    world.runner.client = Refusing(world.runner.client, refusals)  # type: ignore[assignment]
    ledger: Ledger = world.runner.payer  # type: ignore[assignment]
    for job_id in ("a", "b"):
        _add(world, job_id)
        await world.runner.run(job_id)
        assert world.store.job(job_id).state is JobState.COMPLETED, world.store.job(job_id).error
        assert [s.attempts for s in world.store.segments(job_id)] == [0, 0]
    member = world.pool.members[world.url]
    assert (member.failures, member.consecutive_failures) == (0, 0)
    assert ledger.refunds == 8 and ledger.resyncs == [Fraction(0)] * 8, "every refused payment was taken back"


async def test_two_keys_jobs_take_turns_for_one_orchestrator(world: World, tmp_path: Path) -> None:
    """Segments wait in the gateway's one line, fair across API keys: a job submitted
    later, by another key, is not held back until an earlier job is done."""
    world.pool.set_info(world.url, 1)
    world.clip = make_test_clip(tmp_path / "long.mp4", duration=8.0, width=320, height=180, audio=False)
    recorder = Refusing(world.runner.client, {})
    world.runner.client = recorder  # type: ignore[assignment]
    world.runner.owner = {"a": "alice", "b": "bob"}.get  # type: ignore[assignment]
    for job_id in ("a", "b"):
        _add(world, job_id)
    first = asyncio.create_task(world.runner.run("a"))
    while not recorder.calls:
        await asyncio.sleep(0.01)
    await asyncio.gather(first, world.runner.run("b"))
    assert all(world.store.job(j).state is JobState.COMPLETED for j in ("a", "b"))
    jobs = [job for job, _ in recorder.calls]
    assert sorted(jobs) == ["a"] * 4 + ["b"] * 4
    assert jobs[:6].count("b") >= 2, f"bob's job waited for alice's to finish: {recorder.calls}"
    assert world.runner.line.waiting == 0
