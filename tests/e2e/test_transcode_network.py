"""A clip through a gateway and two orchestrators, all on loopback, in this process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from framemesh.sdk.client import GatewayClient
from tests.e2e.clips import CLIP_SECONDS, EXPECTED, PROFILES
from tests.e2e.ladder import assert_ladder
from tests.e2e.nodes import gateway_thread, orchestrator_thread


async def _transcode(gateway: str, clip: Path, out: Path, profiles: str = PROFILES):  # type: ignore[no-untyped-def]
    async with GatewayClient(gateway) as client:
        accepted = await client.submit(clip, profiles)
        seen: list[float] = []
        status = await client.wait(accepted.id, on_progress=lambda s: seen.append(s.progress), timeout=180)
        master = await client.download(status, out) if status.state == "completed" else None
        return status, master, seen


def test_clip_is_transcoded_by_both_orchestrators(tmp_path: Path, clip: Path) -> None:
    o1 = orchestrator_thread(tmp_path, "o1")
    o2 = orchestrator_thread(tmp_path, "o2")
    gw = gateway_thread(tmp_path, [o1.url, o2.url])
    try:
        status, master, seen = asyncio.run(_transcode(gw.url, clip, tmp_path / "ladder"))
        assert status.state == "completed", status.error
        assert status.segments.total == 3 and status.segments.done == 3
        assert set(status.orchestrators) == {o1.url, o2.url}, "both orchestrators should get work"
        assert sum(status.orchestrators.values()) == 3
        assert seen == sorted(seen) and seen[-1] == 1.0
        assert master is not None
        assert_ladder(master, EXPECTED, CLIP_SECONDS)
        served = httpx.get(f"{gw.url}{status.outputs.master}")  # type: ignore[union-attr]
        assert served.status_code == 200 and served.text == master.read_text()
        info = httpx.get(f"{o1.url}/info").json()
        assert info["capacity"] == 1 and info["load"] == 0
        assert "360p" in info["capabilities"]["transcode"]["profiles"]
    finally:
        gw.stop()
        o1.stop()
        o2.stop()


def test_gateway_with_one_dead_orchestrator_still_completes(tmp_path: Path, clip: Path) -> None:
    live = orchestrator_thread(tmp_path, "live")
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    gw = gateway_thread(tmp_path, [dead, live.url])
    try:
        status, master, _ = asyncio.run(_transcode(gw.url, clip, tmp_path / "ladder"))
        assert status.state == "completed", status.error
        assert status.orchestrators == {live.url: 3}
        pool = {m["url"]: m for m in httpx.get(f"{gw.url}/orchestrators").json()}
        assert pool[dead]["known"] is False
    finally:
        gw.stop()
        live.stop()
