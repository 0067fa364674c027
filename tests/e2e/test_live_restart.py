"""A gateway restarted between two runs of an encoder: the stream carries on where it
stood (its window, its counts, its recording), with one discontinuity."""

from __future__ import annotations

from pathlib import Path

import httpx

from framemesh.media.testclip import make_test_clip
from tests.e2e.live import push, status, stream, wait_for
from tests.e2e.nodes import gateway_thread, orchestrator_thread


def test_a_stream_survives_a_gateway_restart(tmp_path: Path) -> None:
    part = make_test_clip(tmp_path / "part.mp4", duration=4.0, width=320, height=180)
    orch = orchestrator_thread(tmp_path, "o1", capacity=2)
    gw = gateway_thread(tmp_path, [orch.url], rtmp_port=0)
    try:
        s = stream(gw.url, profiles="240p", record=True)
        _, err = push(part, s["rtmp_url"]).communicate(timeout=60)
        wait_for("the first run listed", lambda: status(gw.url, s["id"])["segments"]["listed"] == 2)
    finally:
        gw.stop()
    again = gateway_thread(tmp_path, [orch.url], rtmp_port=0)  # the same data directory, a new RTMP port
    try:
        back = status(again.url, s["id"])
        assert back["state"] == "idle" and back["segments"]["listed"] == 2, back
        media = back["playback_url"].replace("index.m3u8", "240p/index.m3u8")
        assert httpx.get(media).text.count("#EXTINF") == 2, "the window was kept"
        encoder = push(part, back["rtmp_url"])
        _, err = encoder.communicate(timeout=60)
        assert encoder.returncode == 0, err
        wait_for("the second run listed", lambda: status(again.url, s["id"])["segments"]["listed"] == 4)
        ended = httpx.delete(f"{again.url}/streams/{s['id']}", timeout=60).json()
        vod = httpx.get(ended["recording_url"].replace("master.m3u8", "240p/index.m3u8")).text
        assert vod.count("#EXTINF") == 4 and vod.count("#EXT-X-DISCONTINUITY") == 1
        live = again.app.state.gateway.live
        live.sessions.pop(s["id"])  # as after KEEP_ENDED: the figures now come from the store
        later = status(again.url, s["id"])
        assert later["segments"] == {"received": 4, "listed": 4, "skipped": 0, "in_flight": 0}
        assert later["discontinuities"] == 1 and later["orchestrators"] == {orch.url: 4}
        assert later["latency"]["median"] is not None and len(later["recent"]) == 4
    finally:
        again.stop()
        orch.stop()
