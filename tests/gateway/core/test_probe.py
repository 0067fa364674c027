"""Which orchestrators a test job goes to (pure part of `core.probe`)."""

from __future__ import annotations

from pathlib import Path

from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.probe import Prober
from framemesh.gateway.core.scores import Work


def test_test_jobs_go_to_known_free_orchestrators_with_no_recent_transcoding_result(tmp_path: Path) -> None:
    pool = OrchestratorPool()
    for url in ("idle", "busy", "fresh", "avoided", "ai-only"):
        pool.set_info(url, 1)
    pool.add("unknown")  # /info never answered
    assert pool.acquire(0.0) is not None
    busy = next(m.url for m in pool.members.values() if m.in_flight)
    pool.succeeded("fresh", 0.5, now=95.0, duration=2.0)
    pool.succeeded("idle", 0.5, now=50.0, duration=2.0)  # 50 s before: past the interval
    pool.failed("avoided", now=99.0)
    pool.succeeded("ai-only", 0.5, now=99.0, work=Work.ai("text-to-image", "m"))
    prober = Prober(pool, client=None, payer=None, checks=None, work_dir=tmp_path, interval=30.0)
    due = set(prober.due(100.0))
    assert due == {"idle", "busy", "ai-only"} - {busy}, "known, free, not avoided, no transcoding result for 30 s"
    assert "unknown" not in due and "fresh" not in due and "avoided" not in due


def test_a_slot_is_reserved_on_the_one_orchestrator_only_when_it_is_free() -> None:
    pool = OrchestratorPool()
    pool.set_info("a", 1)
    assert pool.reserve("a", 0.0) and not pool.reserve("a", 0.0)
    assert not pool.reserve("nobody", 0.0)
    pool.release("a")
    pool.failed("a", now=0.0)
    assert not pool.reserve("a", 1.0), "avoided after a failure"
