"""Chaos, reduced (`benchmarks/chaos.py` with small parameters): every node a process on
anvil, under a mixed workload (transcodes, AI requests, staged jobs, a live stream over
RTMP) an orchestrator and then the gateway are killed with SIGKILL and started again;
every accepted job completes or fails for want of an orchestrator, no winning ticket is
lost or redeemed twice, nobody is charged twice, and the books agree to the wei."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from benchmarks.chaos import Kill, print_summary, run_chaos
from framemesh.chain.anvil import Anvil
from tests.anvil_node import anvil_node

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    yield from anvil_node()


def test_chaos(anvil: Anvil, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    summary = run_chaos(
        tmp_path, rpc=anvil.url, minutes=0.75, orchestrators=2, pipelines=("text-to-image",),
        kills=[Kill(10, "o1", down=1.0), Kill(25, "gateway", down=0.5)],
    )
    print_summary(summary)
    assert [k["node"] for k in sorted(summary.kills, key=lambda k: k["at"])] == ["o1", "gateway"]
    jobs = summary.jobs
    assert all(jobs.get(kind, {}).get("completed", 0) >= 1 for kind in ("transcode", "ai", "staged")), jobs
    assert jobs.get("live", {}).get("accepted", 0) >= 1, jobs
    assert not summary.other_failures, summary.other_failures
    assert summary.chaos["tickets_sent"] > 0 and summary.calm["tickets_sent"] > 0, "the work was paid in tickets"
    failed = [name for name, holds in summary.invariants.items() if not holds]
    assert not failed, [(name, summary.details.get(name)) for name in failed]
