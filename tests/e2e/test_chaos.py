"""Chaos, reduced (`benchmarks/chaos.py` with small parameters): every node a process on
one chain, under a mixed workload (transcodes, AI requests, staged jobs, a live stream
over RTMP) an orchestrator and then the gateway are killed with SIGKILL and started
again; every accepted job completes or fails for want of an orchestrator, no winning
ticket is lost or redeemed twice, nobody is charged twice, and the books agree to the
wei.

The chain here is the embedded one served by `framemesh chain serve` (a process of its
own, as the nodes are), and only that one: a run takes about 80 s (about 90 s on
anvil), and running it on both chains would add as much again to a suite that must
stay well under 15 minutes on 2 cores. The embedded chain gets the run because nothing
else puts it under a network of processes that are killed and restarted; anvil is
under one in test_onchain_anvil (an orchestrator killed after winning tickets redeems
them all, once), and `benchmarks/chaos.py` runs on anvil unless given
``--chain embedded``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from benchmarks.chaos import Kill, print_summary, run_chaos
from framemesh.chain.local import ServedChain

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served() -> Iterator[ServedChain]:
    with ServedChain.start() as node:
        yield node


def test_chaos(served: ServedChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    summary = run_chaos(
        tmp_path, rpc=served.url, chain="embedded", minutes=0.75, orchestrators=2, pipelines=("text-to-image",),
        kills=[Kill(10, "o1", down=1.0), Kill(25, "gateway", down=0.5)],
    )
    print_summary(summary)
    assert summary.backend == "embedded" and served.running
    assert [k["node"] for k in sorted(summary.kills, key=lambda k: k["at"])] == ["o1", "gateway"]
    jobs = summary.jobs
    assert all(jobs.get(kind, {}).get("completed", 0) >= 1 for kind in ("transcode", "ai", "staged")), jobs
    assert jobs.get("live", {}).get("accepted", 0) >= 1, jobs
    assert not summary.other_failures, summary.other_failures
    assert summary.chaos["tickets_sent"] > 0 and summary.calm["tickets_sent"] > 0, "the work was paid in tickets"
    assert summary.chain["redeemed"] > 0, "winning tickets were redeemed on the served chain"
    failed = [name for name, holds in summary.invariants.items() if not holds]
    assert not failed, [(name, summary.details.get(name)) for name in failed]
