"""Performance scores from real work on loopback: a slowed orchestrator and one that fails
half its jobs score lower in GET /scores and get less of the gateway's work than a
plain one; idle orchestrators are measured by test jobs (--probe-interval)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from framemesh.cli.main import app
from framemesh.media.testclip import make_test_clip
from framemesh.net.server import ServerThread
from framemesh.orchestrator.app import create_app as create_orchestrator
from framemesh.orchestrator.config import OrchestratorConfig
from framemesh.sdk.client import GatewayClient
from tests.e2e.nodes import gateway_thread


def orchestrator(root: Path, name: str, **faults: float) -> ServerThread:
    config = OrchestratorConfig(data_dir=root / name, name=name, capacity=1, **faults)  # type: ignore[arg-type]
    return ServerThread(create_orchestrator(config)).start()


def scores_by_name(gateway: str, names: dict[str, str]) -> dict[str, dict[str, object]]:
    body = httpx.get(f"{gateway}/scores", timeout=10).json()
    return {names[row["url"]]: row for row in body["orchestrators"] if row["kind"] == "transcode"}


def wait_for(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:g} s")
        time.sleep(0.25)


async def one_segment_jobs(gateway: str, clip: Path, n: int) -> Counter[str]:
    """`n` jobs, one after another, each a single segment: who did each."""
    done: Counter[str] = Counter()
    async with GatewayClient(gateway) as client:
        for _ in range(n):
            accepted = await client.submit(clip, "240p")
            status = await client.wait(accepted.id, timeout=120)
            assert status.state == "completed", status.error
            done.update(status.orchestrators)
    return done


def test_slow_and_failing_orchestrators_score_lower_and_get_less_work(tmp_path: Path) -> None:
    clip = make_test_clip(tmp_path / "short.mp4", duration=1.0, width=320, height=180, fps=24, audio=False)
    nodes = {
        "fast": orchestrator(tmp_path, "fast"),
        "slow": orchestrator(tmp_path, "slow", slow_seconds=2.0),
        "flaky": orchestrator(tmp_path, "flaky", fail_share=0.5),
    }
    names = {node.url: name for name, node in nodes.items()}
    # Test jobs measure all three before any real work comes (each is idle, none is chosen).
    gw = gateway_thread(tmp_path, list(names), probe_interval=1.0, score_interval=0.5, info_refresh_seconds=1.0,
                        avoid_seconds=0.5, max_avoid_seconds=1.0)
    try:
        wait_for(lambda: all(s["samples"] >= 3 for s in scores_by_name(gw.url, names).values())
                 and len(scores_by_name(gw.url, names)) == 3, 60, "three test jobs each")
        assert httpx.get(f"{gw.url}/jobs").json() == [], "no real work yet: the test jobs measured them"
        measured = scores_by_name(gw.url, names)
        assert measured["fast"]["score"] > measured["slow"]["score"], measured
        assert measured["fast"]["success_rate"] == 1.0 and measured["slow"]["success_rate"] == 1.0
        assert measured["slow"]["round_trip_p50"] > 2.0, "the slowed one's round trip has its delay in it"  # type: ignore[operator]

        done = asyncio.run(one_segment_jobs(gw.url, clip, 15))
        by_name = Counter({names[url]: n for url, n in done.items()})
        print("segments done:", dict(by_name), "scores:", {n: round(s["score"], 3) for n, s in scores_by_name(gw.url, names).items()})
        assert sum(by_name.values()) == 15
        assert by_name["fast"] > by_name["slow"] and by_name["fast"] > by_name["flaky"], by_name

        final = scores_by_name(gw.url, names)
        assert final["fast"]["score"] > final["slow"]["score"] and final["fast"]["score"] > final["flaky"]["score"], final
        assert final["flaky"]["success_rate"] < 1.0, "its failed jobs count"  # type: ignore[operator]
        wait_for(lambda: httpx.get(f"{gw.url}/scores/history", params={"orchestrator": nodes["slow"].url}).json()["points"],
                 10, "a history point for the slowed one")
        points = httpx.get(f"{gw.url}/scores/history", params={"kind": "transcode"}).json()["points"]
        assert {names[p["url"]] for p in points} == {"fast", "slow", "flaky"}
        assert all(0.0 <= p["score"] <= 1.0 for p in points)

        shown = CliRunner().invoke(app, ["scores", "--gateway", gw.url])
        assert shown.exit_code == 0, shown.output
        assert all(node.url in shown.output for node in nodes.values()) and "transcode" in shown.output
        history = CliRunner().invoke(app, ["scores", "--gateway", gw.url, "--history", nodes["slow"].url])
        assert history.exit_code == 0 and "score history" in history.output, history.output
    finally:
        gw.stop()
        for node in nodes.values():
            node.stop()
