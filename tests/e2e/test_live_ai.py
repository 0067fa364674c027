"""Live AI on the paid network: an encoder pushes over RTMP (Debian's ffmpeg, in real
time), the gateway sends each segment to an orchestrator's warm live-video-to-video
worker (the tiny Stable Diffusion, paid by time in tickets on the embedded chain), the
processed segments come back signed and go into the live playlist; settings change
mid-stream; the events stream tells what happens."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from framemesh.devnet import Devnet, DevnetConfig
from framemesh.media.testclip import make_test_clip
from framemesh.provenance.verify import read_provenance
from tests.e2e.ai_nodes import write_models
from tests.e2e.live import push, status, wait_for
from tests.e2e.scrape import scrape

pytest.importorskip("diffusers")
SD = "framemesh/tiny-sd"
PARAMS = {"prompt": "a red fox", "width": 64, "height": 64, "num_inference_steps": 1, "seed": 3}


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    root = tmp_path_factory.mktemp("live-ai")
    # 100 wei a unit: a second of live AI costs 2.76e9 wei, about half a ticket's worth
    models = write_models(root / "models", ("live-video-to-video",), price_per_unit=100)
    with Devnet(DevnetConfig(root=root, delegation=0, ai_config=models, rtmp_port=0, live_idle_timeout=20.0)) as devnet:
        yield devnet


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s of 160x96 at 30 fps, a keyframe every 2 s, with sound: five live segments (a
    settings change sent after the first is listed has segments left to show in)."""
    return make_test_clip(tmp_path_factory.mktemp("clips") / "live.mp4", duration=10.0, width=160, height=96)


def listen(url: str, into: list[tuple[str, dict[str, Any]]]) -> threading.Thread:
    """Read the server-sent events at `url` on a thread, until the stream's `end`."""

    def run() -> None:
        with httpx.stream("GET", url, timeout=120) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            kind = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind is not None:
                    into.append((kind, json.loads(line[6:])))
                    if kind == "end":
                        return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def frames(data: bytes, tmp: Path) -> list[np.ndarray]:
    path = tmp / "f.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_a_live_ai_stream_is_processed_paid_signed_and_steered(net: Devnet, clip: Path, tmp_path: Path) -> None:
    gw = net.gateway.url
    fees_before = sum(int(httpx.get(f"{o.url}/stats").json()["ai"]["fees_charged_wei"]) for o in net.orchestrators)
    made = httpx.post(f"{gw}/streams", json={"name": "fox", "record": True, "ai": {"model_id": SD, "params": PARAMS}},
                      timeout=30)
    assert made.status_code == 201, made.text
    s = made.json()
    assert s["ai"]["model_id"] == SD and s["ai"]["params"] == PARAMS and s["profiles"] == []
    events: list[tuple[str, dict[str, Any]]] = []
    reader = listen(f"{gw}/streams/{s['id']}/events", events)
    encoder = push(clip, s["rtmp_url"])
    media = s["playback_url"].replace("index.m3u8", "ai/index.m3u8")
    wait_for("the first processed segment listed", lambda: httpx.get(media).status_code == 200, timeout=90)

    changed = httpx.post(f"{gw}/streams/{s['id']}/control", json={"params": {"prompt": "a blue whale"}}, timeout=30)
    assert changed.status_code == 200, changed.text
    assert changed.json()["state"] == "pending" and changed.json()["params"] == {**PARAMS, "prompt": "a blue whale"}
    _, err = encoder.communicate(timeout=60)
    assert encoder.returncode == 0, err
    ended = httpx.delete(f"{gw}/streams/{s['id']}", timeout=90).json()
    reader.join(timeout=30)

    counts = ended["segments"]
    assert counts["received"] == counts["listed"] == 5 and counts["skipped"] == 0, counts
    [control] = ended["ai"]["controls"]
    assert control["state"] == "applied" and control["effective_seq"] >= 1, control
    assert 0 < control["seconds_to_effect"] < 10
    assert ended["ai"]["params"]["prompt"] == "a blue whale"
    recording = httpx.get(ended["recording_url"]).text  # a live AI stream is recorded too: its one rendition
    assert "ai/index.m3u8" in recording
    assert httpx.get(ended["recording_url"].replace("master.m3u8", "ai/index.m3u8")).text.count("#EXTINF") == 5
    assert ended["ai"]["fps_in"] == pytest.approx(30, abs=1) and 0 < ended["ai"]["fps_out"] <= 24.5

    # every processed segment: the model's picture (not the source's), signed by the
    # orchestrator that made it, naming the model, its settings and the source segment
    master = httpx.get(s["playback_url"]).text
    assert "ai/index.m3u8" in master and "RESOLUTION=64x64" in master
    anchors = [(net.keys_dir / "ca.pem").read_text()]
    by_url = {o.url: o.signer.address.lower() for o in net.orchestrators}
    prompts = []
    for seg in ended["recent"]:
        data = httpx.get(f"{gw}/streams/{s['id']}/ai/seg_{seg['seq']:06d}.mp4").content
        path = tmp_path / f"{seg['seq']}.mp4"
        path.write_bytes(data)
        verdict = read_provenance(path, trust_anchors=anchors)
        assert verdict.ok, verdict.problems
        assert (verdict.address or "").lower() == by_url[seg["orchestrator"]]
        active = verdict.active
        assert active is not None and (active.pipeline, active.model) == ("live-video-to-video", SD)
        assert active.parameters is not None and active.ingredient_sha256 and active.ingredient_sha256[0]
        prompts.append(active.parameters["prompt"])
        pictures = frames(data, tmp_path)
        assert pictures[0].shape == (64, 64, 3)
    assert prompts[0] == "a red fox" and prompts[-1] == "a blue whale"
    assert prompts.index("a blue whale") == control["effective_seq"]

    # paid by time, and the books agree to the wei
    assert ended["fees_wei"] > 0
    fees_after = sum(int(httpx.get(f"{o.url}/stats").json()["ai"]["fees_charged_wei"]) for o in net.orchestrators)
    assert fees_after - fees_before == ended["fees_wei"]
    # the metrics: five live AI segments listed at the gateway, each an AI request done at its orchestrator
    gateway = scrape(gw)
    assert gateway.value("framemesh_gateway_segments_total", kind="live-ai", outcome="listed") >= 5
    assert gateway.value("framemesh_gateway_segment_realtime_ratio_count", kind="live-ai") >= 5
    done = sum(scrape(o.url).value("framemesh_orchestrator_ai_requests_total", pipeline="live-video-to-video",
                                   model=SD, outcome="ok") for o in net.orchestrators)
    assert done >= 5 and s["id"] not in gateway.text

    kinds = [kind for kind, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "end", kinds
    listed = [data for kind, data in events if kind == "status" and data.get("state") == "listed"]
    assert len(listed) == 5 and all(0 < d["fps_out"] <= d["fps_in"] for d in listed), events
    assert [d["state"] for k, d in events if k == "control"] == ["pending", "applied"]


def test_settings_the_model_refuses_are_rejected_and_the_stream_goes_on(net: Devnet, clip: Path) -> None:
    gw = net.gateway.url
    s = httpx.post(f"{gw}/streams", json={"ai": {"model_id": SD, "params": PARAMS}}, timeout=30).json()
    encoder = push(clip, s["rtmp_url"])
    wait_for("a segment listed", lambda: status(gw, s["id"])["segments"]["listed"] >= 1, timeout=90)
    bad = httpx.post(f"{gw}/streams/{s['id']}/control", json={"params": {"strength": 7}}, timeout=30)
    assert bad.status_code == 200
    encoder.communicate(timeout=60)
    ended = httpx.delete(f"{gw}/streams/{s['id']}", timeout=90).json()
    [control] = ended["ai"]["controls"]
    assert control["state"] == "rejected" and "strength" in control["error"], control
    assert ended["state"] == "ended" and ended["segments"]["skipped"] == 0, ended["segments"]
    assert ended["ai"]["params"] == PARAMS, "back to the settings that worked"


def test_a_stream_whose_first_settings_are_refused_fails_with_the_reason(net: Devnet, clip: Path) -> None:
    gw = net.gateway.url
    s = httpx.post(f"{gw}/streams", json={"ai": {"model_id": SD, "params": {"colour": "red"}}}, timeout=30).json()
    encoder = push(clip, s["rtmp_url"])
    failed = wait_for("the stream failed", lambda: (st := status(gw, s["id"]))["state"] == "failed" and st, timeout=90)
    encoder.kill()
    encoder.communicate()
    assert "colour" in failed["error"], failed


def test_bad_live_ai_requests_are_refused_with_what_is_wrong(net: Devnet) -> None:
    gw = net.gateway.url
    unknown = httpx.post(f"{gw}/streams", json={"ai": {"model_id": "nobody/serves-this"}}, timeout=30)
    assert unknown.status_code == 422 and "framemesh/tiny-sd" in unknown.json()["detail"]["msg"], unknown.text
    plain = httpx.post(f"{gw}/streams", json={"profiles": "240p"}, timeout=30).json()
    not_ai = httpx.post(f"{gw}/streams/{plain['id']}/control", json={"params": {"prompt": "x"}}, timeout=30)
    assert not_ai.status_code == 409 and not_ai.json()["detail"]["code"] == "not_ai_stream"
    missing = httpx.post(f"{gw}/streams/nope/control", json={"params": {}}, timeout=30)
    assert missing.status_code == 404


def test_livepeers_live_video_to_video_request_maps_onto_a_stream(net: Devnet) -> None:
    gw = net.gateway.url
    response = httpx.post(f"{gw}/live-video-to-video", json={
        "subscribe_url": "https://example.invalid/in", "publish_url": "https://example.invalid/out",
        "model_id": SD, "params": PARAMS, "gateway_request_id": "req-1",
    }, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subscribe_url"].startswith("rtmp://") and body["publish_url"].endswith("/index.m3u8")
    assert body["control_url"] == f"{gw}/streams/{body['request_id']}/control"
    assert body["events_url"] == f"{gw}/streams/{body['request_id']}/events"
    made = status(gw, body["request_id"])
    assert made["ai"]["model_id"] == SD and made["ai"]["params"] == PARAMS and made["name"] == "req-1"
    assert httpx.post(body["control_url"], json={"params": {"prompt": "x"}}, timeout=30).status_code == 200
    refused = httpx.post(f"{gw}/live-video-to-video", json={"publish_url": "x"}, timeout=30)
    assert refused.status_code == 422 and "subscribe_url" in refused.text, refused.text


def test_an_orchestrator_stops_processing_a_stream_whose_payments_stop(net: Devnet, tmp_path: Path) -> None:
    from framemesh.ai.units import live_units
    from framemesh.chain.keys import Signer
    from framemesh.payments.sender import Payment, TicketSender
    from framemesh.wire.ai import REQUEST_PART
    from framemesh.wire.payment import PAYMENT_HEADER, PaymentWire, TicketParamsWire

    who = Signer.from_key((0x11FE).to_bytes(32, "big"))
    net.chain.send_eth(who.address, 2 * 10**18, net.deployer)
    net.protocol.fund_deposit_and_reserve(who, 10**18, 10**17)
    node = net.orchestrators[0]
    wire = TicketParamsWire.model_validate(
        httpx.get(f"{node.url}/ticket-params", params={"sender": who.address}).json())
    params = wire.params()
    sender = TicketSender(who)
    segment = make_test_clip(tmp_path / "seg.mp4", duration=1.0, width=96, height=64).read_bytes()
    price = 100 * live_units(1.0)

    def send(seq: int, payment: Payment) -> httpx.Response:
        fields = {"model_id": SD, "stream_id": "unpaid", "seq": seq, "duration": 1.0, "params": PARAMS}
        return httpx.post(f"{node.url}/ai/live-video-to-video", data={REQUEST_PART: json.dumps(fields)},
                          files={"video": ("seg.mp4", segment)},
                          headers={PAYMENT_HEADER: PaymentWire.of(payment, params, who.address).header()}, timeout=120)

    paid = send(0, sender.pay(params, price))  # tickets enough for one second, then no more
    assert paid.status_code == 200, paid.text
    unpaid = [send(seq, Payment(params.recipient, price, ())) for seq in (1, 2)]
    assert unpaid[-1].status_code == 402, [r.text for r in unpaid]
    assert unpaid[-1].json()["detail"]["code"] == "insufficient_payment"


def test_the_cli_makes_a_live_ai_stream_and_steers_it(net: Devnet) -> None:
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "framemesh", "stream", *args, "--gateway", net.gateway.url],
                              capture_output=True, text=True, timeout=120)

    made = cli("create", "--name", "cli-ai", "--ai", SD, "--param", "prompt=a cat", "--param", "width=64",
               "--param", "strength=0.4")
    assert made.returncode == 0, made.stderr
    (s,) = [x for x in httpx.get(f"{net.gateway.url}/streams").json() if x["name"] == "cli-ai"]
    assert s["ai"]["params"] == {"prompt": "a cat", "width": 64, "strength": 0.4}
    assert "framemesh/tiny-sd" in made.stdout
    steered = cli("control", s["id"], "prompt=a dog")
    assert steered.returncode == 0 and "change 1: pending" in steered.stdout, steered.stdout + steered.stderr
    bad = cli("control", s["id"], "prompt")
    assert bad.returncode != 0 and "FIELD=VALUE" in bad.stdout + bad.stderr
    assert cli("end", s["id"]).returncode == 0


def test_a_browser_plays_the_live_ai_stream(net: Devnet, tmp_path: Path) -> None:
    from tests.e2e.live import browser, play

    gw = net.gateway.url
    long_clip = make_test_clip(tmp_path / "long.mp4", duration=14.0, width=160, height=96, seed=3)
    s = httpx.post(f"{gw}/streams", json={"name": "ai in a browser", "ai": {"model_id": SD, "params": PARAMS}},
                   timeout=30).json()
    encoder = push(long_clip, s["rtmp_url"])
    try:
        with browser() as b:
            page = play(b, s["player_url"], tmp_path / "player.png", timeout_ms=90_000)
            snap = page.evaluate("() => window.framemeshSnapshot()")
            shown = page.evaluate("""() => {
                const v = document.querySelector('video'), c = document.createElement('canvas');
                c.width = v.videoWidth; c.height = v.videoHeight;
                const g = c.getContext('2d'); g.drawImage(v, 0, 0);
                const d = g.getImageData(0, 0, c.width, c.height).data;
                let lo = 255, hi = 0;
                for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i + 1]); hi = Math.max(hi, d[i + 1]); }
                return {width: v.videoWidth, height: v.videoHeight, lo: lo, hi: hi};
            }""")
        assert snap["fatal"] is None and not snap["paused"], snap
        assert (shown["width"], shown["height"]) == (64, 64), "the model's picture plays, not the 160x96 source"
        assert shown["hi"] - shown["lo"] > 20, f"a picture, not a flat grey frame: {shown}"
    finally:
        encoder.kill()
        encoder.communicate()
        httpx.delete(f"{gw}/streams/{s['id']}", timeout=90)
