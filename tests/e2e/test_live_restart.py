"""A gateway restarted between two runs of an encoder: the stream carries on where it
stood (its window, its counts, its recording), with one discontinuity."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI, Request

from framemesh import __version__
from framemesh.media.testclip import make_test_clip
from framemesh.net.server import ServerThread
from framemesh.wire.orchestrator import Capabilities, OrchestratorInfo, TranscodeCapability
from tests.e2e.live import push, status, stream, ts_segments, wait_for
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


def _hanging_orchestrator() -> ServerThread:
    """Takes every segment and never answers: a segment sent to it stays in work."""
    app = FastAPI()

    @app.get("/info")
    async def info() -> OrchestratorInfo:
        return OrchestratorInfo(
            name="hanging", version=__version__, price_per_pixel=0, capacity=4, load=0,
            capabilities=Capabilities(transcode=TranscodeCapability(profiles=["240p"], price_per_pixel=0)),
        )

    @app.post("/transcode")
    async def transcode(request: Request) -> None:
        await request.body()
        await asyncio.sleep(3600)

    return ServerThread(app).start()


def test_a_segment_in_work_when_the_gateway_went_down_is_counted_skipped(tmp_path: Path) -> None:
    """Found by benchmarks/chaos.py: a gateway killed with a live segment in work came back
    with no trace of it (received 3 of the 4 segments its encoder sent)."""
    part = make_test_clip(tmp_path / "part.mp4", duration=2.0, width=320, height=180)
    (segment,) = ts_segments(part, tmp_path / "ts")
    orch = _hanging_orchestrator()
    gw = gateway_thread(tmp_path, [orch.url])
    try:
        s = stream(gw.url, profiles="240p")
        assert httpx.put(f"{s['push_url']}/0.ts", content=segment.read_bytes(), timeout=30).status_code < 300
        wait_for("the segment in work", lambda: status(gw.url, s["id"])["segments"]["in_flight"] == 1)
    finally:
        gw.stop()  # its answer will never come: the segment is lost with this gateway
    again = gateway_thread(tmp_path, [orch.url])
    try:
        back = status(again.url, s["id"])
        assert back["segments"] == {"received": 1, "listed": 0, "skipped": 1, "in_flight": 0}, back
    finally:
        again.stop()
        orch.stop()
    # The encoder carries on, on a gateway whose orchestrator answers: the gap is marked,
    # and still counted by the gateway after the next restart.
    orch = orchestrator_thread(tmp_path, "o1", capacity=2)
    for n in range(2):
        gw = gateway_thread(tmp_path, [orch.url])
        try:
            if n == 0:
                push_url = status(gw.url, s["id"])["push_url"]  # this gateway's port
                assert httpx.put(f"{push_url}/1.ts", content=segment.read_bytes(), timeout=30).status_code < 300
                wait_for("the next segment listed", lambda: status(gw.url, s["id"])["segments"]["listed"] == 1)
            now = status(gw.url, s["id"])
            assert now["segments"] == {"received": 2, "listed": 1, "skipped": 1, "in_flight": 0}, now
            assert now["discontinuities"] == 1, now
        finally:
            gw.stop()
    orch.stop()


def test_a_live_ai_stream_is_restored_after_a_restart(tmp_path: Path) -> None:
    """An unfinished live AI stream (no profiles: one rendition, the model's) does not
    keep a restarted gateway from starting, and keeps its window and settings."""
    from framemesh.gateway.live.session import LiveParts, LiveSession
    from framemesh.gateway.live.store import LISTED, SegmentRecord, StreamStore
    from framemesh.media.testclip import make_test_clip
    from framemesh.media.transcode import transcode_segment
    from framemesh.media.profiles import RenditionSpec

    store = StreamStore(tmp_path / "streams.sqlite")
    record = store.add("s1", "ai", "key", (), False, {"pipeline": "live-video-to-video", "model_id": "m", "params": {"a": 1}})
    out = tmp_path / "outputs" / "live" / "s1" / "ai"
    clip = make_test_clip(tmp_path / "c.mp4", duration=2.0, width=64, height=64)
    [made] = transcode_segment(clip, [RenditionSpec("ai", 64, 64, 200_000, 64_000, 30)], tmp_path / "t")
    from framemesh.media.hls import place_segment

    placed = place_segment(made.path, out, "seg_000000.mp4", 2.0)
    store.add_segment(SegmentRecord("s1", 0, 2.0, False, 0.0, LISTED, "o", 1, 1.0, 1.0, {"ai": placed}))
    store.add_control("s1", {"a": 2})
    parts = LiveParts(pool=None, client=None, payer=None, checks=None, store=store,  # type: ignore[arg-type]
                      outputs_dir=tmp_path / "outputs", work_dir=tmp_path / "work", in_pool=None)  # type: ignore[arg-type]
    session = LiveSession(record, parts)
    session.restore(store.segments("s1"))
    assert session.listed == 1 and "ai" in session.window.renditions
    assert session.params == {"a": 2} and session.control_n == 1, "the pending change carries on"
