"""An orchestrator dies (kill -9) in the middle of a live stream: every node a real
process, the encoder Debian's ffmpeg. The stream moves to the other orchestrator and
its recording still has every segment."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from framemesh.media.testclip import make_test_clip
from framemesh.net.server import free_port
from tests.e2e.live import push, status, stream, wait_for
from tests.e2e.nodes import gateway_process, orchestrator_process

pytestmark = pytest.mark.slow


def test_a_stream_survives_its_orchestrators_death(tmp_path: Path) -> None:
    clip = make_test_clip(tmp_path / "clip.mp4", duration=16.0, width=640, height=360)
    rtmp = free_port()
    with orchestrator_process(tmp_path, "o1", capacity=2) as o1, orchestrator_process(tmp_path, "o2", capacity=2) as o2, \
            gateway_process(tmp_path, [o1.url, o2.url], "--rtmp-port", str(rtmp), "--live-idle-timeout", "20") as gw:
        s = stream(gw.url, record=True)
        encoder = push(clip, s["rtmp_url"])
        on = wait_for("two segments listed", lambda: (st := status(gw.url, s["id"]))["segments"]["listed"] >= 2 and st)
        victim = {o1.url: o1, o2.url: o2}[on["orchestrator"]]
        victim.kill()  # kill -9 mid-stream, as a crashed machine
        _, err = encoder.communicate(timeout=60)
        assert encoder.returncode == 0, err
        ended = httpx.delete(f"{gw.url}/streams/{s['id']}", timeout=60).json()
        counts = ended["segments"]
        assert counts["received"] == counts["listed"] == 8 and counts["skipped"] == 0, ended
        assert ended["discontinuities"] == 0, "no segment lost: no jump in the timeline"
        survivor = o2.url if victim is o1 else o1.url
        assert ended["orchestrator"] == survivor and ended["swaps"] >= 1
        assert ended["orchestrators"].get(survivor, 0) >= 1
        vod = httpx.get(ended["recording_url"].replace("master.m3u8", "360p/index.m3u8")).text
        assert vod.count("#EXTINF") == 8 and "#EXT-X-ENDLIST" in vod
        retried = [r for r in ended["recent"] if r["attempts"] > 1]
        print("delay caused by the death:", [(r["seq"], r["latency"]) for r in retried])
