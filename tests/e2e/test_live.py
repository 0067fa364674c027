"""Live streams through the network on the embedded chain: an encoder pushes over RTMP
(Debian's ffmpeg, in real time), the gateway cuts segments as they arrive, two staked
orchestrators transcode them for tickets, the live playlist advances, a browser
plays it, and the recording holds the whole stream."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from framemesh.devnet import Devnet, DevnetConfig
from framemesh.media.probe import probe
from framemesh.media.testclip import make_test_clip
from tests.e2e.live import browser, play, push, status, stream, ts_segments, wait_for
from tests.e2e.scrape import id_like_labels, scrape


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    root = tmp_path_factory.mktemp("live")
    with Devnet(DevnetConfig(root=root, capacity=2, rtmp_port=0, live_idle_timeout=20.0)) as devnet:
        yield devnet


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of 640x360 at 30 fps, a keyframe every 2 s, with sound: four live segments."""
    return make_test_clip(tmp_path_factory.mktemp("clips") / "live.mp4", duration=8.0, width=640, height=360)


def _finish(proc: subprocess.Popen[str], timeout: float = 60) -> None:
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err


def test_a_pushed_stream_goes_through_the_paid_network_and_is_recorded(net: Devnet, clip: Path) -> None:
    gw = net.gateway.url
    s = stream(gw, name="paid", record=True)
    assert s["state"] == "idle" and s["rtmp_url"].endswith(f"/live/{s['stream_key']}")
    assert s["playback_url"] == f"{gw}/streams/{s['id']}/index.m3u8"
    sent_before = int(httpx.get(f"{gw}/payments").json()["tickets_sent"])
    before = scrape(gw)
    encoder = push(clip, s["rtmp_url"])
    # the live playlist advances while the encoder sends
    media = s["playback_url"].replace("index.m3u8", "360p/index.m3u8")
    wait_for("the first segment listed", lambda: httpx.get(media).status_code == 200)
    first = httpx.get(media).text
    assert "#EXT-X-ENDLIST" not in first and status(gw, s["id"])["state"] == "live"
    assert scrape(gw).value("framemesh_gateway_live_streams", kind="transcode") >= 1
    wait_for("more segments listed", lambda: httpx.get(media).text.count("#EXTINF") > first.count("#EXTINF"))
    _finish(encoder)
    ended = httpx.delete(f"{gw}/streams/{s['id']}", timeout=60).json()

    assert ended["state"] == "ended", ended
    counts = ended["segments"]
    assert counts["received"] == counts["listed"] == 4 and counts["skipped"] == 0, counts
    assert sum(ended["orchestrators"].values()) == 4
    assert set(ended["orchestrators"]) <= {o.url for o in net.orchestrators}
    assert ended["fees_wei"] > 0 and int(httpx.get(f"{gw}/payments").json()["tickets_sent"]) > sent_before
    assert all(r["round_trip"] is not None and r["latency"] is not None for r in ended["recent"])
    _live_metrics(gw, before, s, ended)
    assert httpx.get(media).text.endswith("#EXT-X-ENDLIST\n"), "the live playlist ends too"
    # every live segment is signed by the orchestrator that made it, from its source segment
    addresses = {o.signer.address.lower() for o in net.orchestrators}
    for n in range(4):
        verdict = httpx.get(f"{gw}/provenance/live/{s['id']}/360p/seg_{n:06d}.mp4").json()
        assert verdict["status"] == "valid" and verdict["address"].lower() in addresses, verdict
    # the recording: the whole stream as a VOD ladder
    recording = httpx.get(ended["recording_url"]).text
    assert "360p/index.m3u8" in recording and "240p/index.m3u8" in recording
    vod = httpx.get(ended["recording_url"].replace("master.m3u8", "360p/index.m3u8")).text
    assert vod.count("#EXTINF") == 4 and "#EXT-X-ENDLIST" in vod and "#EXT-X-DISCONTINUITY" not in vod
    total = sum(float(x) for x in re.findall(r"#EXTINF:([\d.]+),", vod))
    assert abs(total - probe(clip).duration) < 0.5, total


def _live_metrics(gw: str, before, s: dict, ended: dict) -> None:  # type: ignore[no-untyped-def]
    """The gateway's /metrics counted the stream's four segments, their round trips and
    real-time ratios, and named neither the stream nor its key."""
    after = scrape(gw)

    def grew(sample: str, **labels: str) -> float:
        return after.value(sample, **labels) - before.value(sample, **labels)

    assert grew("framemesh_gateway_segments_total", kind="live", outcome="listed") == 4
    assert grew("framemesh_gateway_segments_total", kind="live", outcome="skipped") == 0
    assert grew("framemesh_gateway_segment_tries_total", kind="live", outcome="ok") == 4
    for url, n in ended["orchestrators"].items():
        assert grew("framemesh_gateway_segment_tries_total", kind="live", orchestrator=url, outcome="ok") == n
    assert grew("framemesh_gateway_segment_round_trip_seconds_count", kind="live") == 4
    assert grew("framemesh_gateway_segment_realtime_ratio_count", kind="live") == 4
    assert grew("framemesh_gateway_segment_realtime_ratio_sum", kind="live") > 0
    assert grew("framemesh_tickets_sent_total") > 0
    assert after.value("framemesh_gateway_live_streams") == 0, "it ended"
    assert s["id"] not in after.text and s["stream_key"] not in after.text
    assert id_like_labels(after) == []


def test_a_browser_plays_the_live_stream(net: Devnet, clip: Path, tmp_path: Path) -> None:
    gw = net.gateway.url
    s = stream(gw, name="in a browser")
    long_clip = make_test_clip(tmp_path / "long.mp4", duration=16.0, width=640, height=360, seed=3)
    encoder = push(long_clip, s["rtmp_url"])
    try:
        with browser() as b:
            page = play(b, s["player_url"], tmp_path / "player.png")
            snap = page.evaluate("() => window.framemeshSnapshot()")
        assert snap["fatal"] is None and not snap["paused"], snap
        assert snap["latency"] is not None and snap["latency"] > 0, "the program times give the latency"
        assert (tmp_path / "player.png").stat().st_size > 10_000
    finally:
        encoder.kill()
        encoder.communicate()
        httpx.delete(f"{gw}/streams/{s['id']}", timeout=60)


def test_a_wrong_key_is_refused_at_once(net: Devnet, clip: Path) -> None:
    s = stream(net.gateway.url)
    encoder = push(clip, s["rtmp_url"].rsplit("/", 1)[0] + "/not-a-key")
    _, err = encoder.communicate(timeout=30)
    assert encoder.returncode != 0 and "unknown stream key" in err
    ended = httpx.delete(f"{net.gateway.url}/streams/{s['id']}", timeout=60).json()
    refused = push(clip, s["rtmp_url"])
    _, err = refused.communicate(timeout=30)
    assert refused.returncode != 0 and "the stream has ended" in err
    assert ended["segments"]["received"] == 0


def test_an_encoder_that_reconnects_continues_the_stream(net: Devnet, tmp_path: Path) -> None:
    gw = net.gateway.url
    s = stream(gw, record=True)
    part = make_test_clip(tmp_path / "part.mp4", duration=4.0, width=640, height=360, seed=5)
    _finish(push(part, s["rtmp_url"]))
    wait_for("the first run listed", lambda: status(gw, s["id"])["segments"]["listed"] == 2)
    assert status(gw, s["id"])["state"] == "idle", "the encoder went away; the stream waits for it"
    _finish(push(part, s["rtmp_url"]))
    wait_for("the second run listed", lambda: status(gw, s["id"])["segments"]["listed"] == 4)
    ended = httpx.delete(f"{gw}/streams/{s['id']}", timeout=60).json()
    assert ended["reconnects"] == 1 and ended["discontinuities"] == 1 and ended["segments"]["skipped"] == 0
    vod = httpx.get(ended["recording_url"].replace("master.m3u8", "360p/index.m3u8")).text
    assert vod.count("#EXTINF") == 4 and vod.count("#EXT-X-DISCONTINUITY") == 1
    lines = vod.splitlines()
    assert lines.index("#EXT-X-DISCONTINUITY") > lines.index("seg_00001.mp4"), "between the two runs"


def test_garbage_pushed_over_http_is_refused_and_the_stream_goes_on(net: Devnet, clip: Path, tmp_path: Path) -> None:
    gw = net.gateway.url
    s = stream(gw)
    segments = ts_segments(clip, tmp_path / "ts")
    assert len(segments) == 4
    garbage = httpx.put(f"{s['push_url']}/0.ts", content=os.urandom(50_000), timeout=30)
    assert garbage.status_code == 422 and garbage.json()["detail"]["code"] == "invalid_media"
    bad_name = httpx.put(f"{s['push_url']}/first.ts", content=segments[0].read_bytes(), timeout=30)
    assert bad_name.status_code == 422
    assert httpx.put(f"{gw}/live/no-such-key/0.ts", content=segments[0].read_bytes(), timeout=30).status_code == 404
    for n, path in enumerate(segments):
        pushed = httpx.put(f"{s['push_url']}/{n}.ts", content=path.read_bytes(), timeout=30)
        assert pushed.status_code == 201 and pushed.json()["seq"] == n, pushed.text
    wait_for("the pushed segments listed", lambda: status(gw, s["id"])["segments"]["listed"] == 4)
    after = status(gw, s["id"])
    assert after["state"] == "live" and after["segments"]["skipped"] == 0 and after["discontinuities"] == 0
    assert httpx.get(f"{gw}/healthz").status_code == 200
    httpx.delete(f"{gw}/streams/{s['id']}", timeout=60)


def test_two_streams_run_at_once(net: Devnet, clip: Path) -> None:
    gw = net.gateway.url
    a, b = stream(gw, name="a"), stream(gw, name="b", profiles="240p")
    encoders = [push(clip, a["rtmp_url"]), push(clip, b["rtmp_url"])]
    for encoder in encoders:
        _finish(encoder)
    for s, renditions in ((a, {"360p", "240p"}), (b, {"240p"})):
        wait_for(f"stream {s['name']} listed", lambda s=s: status(gw, s["id"])["segments"]["listed"] == 4)
        master = httpx.get(s["playback_url"]).text
        assert {line.split("/")[0] for line in master.splitlines() if line.endswith("index.m3u8")} == renditions
        ended = httpx.delete(f"{gw}/streams/{s['id']}", timeout=60).json()
        assert ended["segments"]["skipped"] == 0


def test_a_stream_without_video_fails_with_the_reason(net: Devnet, tmp_path: Path) -> None:
    gw = net.gateway.url
    s = stream(gw)
    tone = tmp_path / "tone.m4a"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=3",
                    "-c:a", "aac", str(tone)], check=True)
    encoder = push(tone, s["rtmp_url"])
    encoder.communicate(timeout=30)
    failed = wait_for("the stream failed", lambda: (st := status(gw, s["id"]))["state"] == "failed" and st)
    assert "no video" in failed["error"]
    assert httpx.get(f"{gw}/healthz").status_code == 200


def test_bad_requests_say_what_is_wrong(net: Devnet) -> None:
    gw = net.gateway.url
    unknown = httpx.post(f"{gw}/streams", json={"profiles": "9000p"})
    assert unknown.status_code == 422 and unknown.json()["detail"]["code"] == "unknown_profile"
    assert httpx.get(f"{gw}/streams/nope").status_code == 404
    assert httpx.delete(f"{gw}/streams/nope").json()["detail"]["code"] == "stream_not_found"
    s = stream(gw)
    not_live = httpx.get(s["playback_url"])
    assert not_live.status_code == 404 and not_live.json()["detail"]["code"] == "not_live"
    listed = httpx.get(f"{gw}/streams", params={"limit": 1}).json()
    assert [x["id"] for x in listed] == [s["id"]], "newest first"
