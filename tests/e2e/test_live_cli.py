"""`framemesh stream` against a gateway on loopback: create a stream, push a file to it
in real time (the CLI's own RTMP encoder, in its own process), follow it, end it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from framemesh.media.testclip import make_test_clip
from tests.e2e.live import wait_for
from tests.e2e.nodes import gateway_thread, orchestrator_thread


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "framemesh", *args], capture_output=True, text=True, timeout=120)


def test_the_cli_creates_pushes_follows_and_ends_a_stream(tmp_path: Path) -> None:
    clip = make_test_clip(tmp_path / "clip.mp4", duration=4.0, width=320, height=180)
    orch = orchestrator_thread(tmp_path, "o1", capacity=2)
    gw = gateway_thread(tmp_path, [orch.url], rtmp_port=0)
    try:
        created = cli("stream", "create", "--name", "from the cli", "--profiles", "240p", "--record", "--gateway", gw.url)
        assert created.returncode == 0, created.stderr
        (stream,) = httpx.get(f"{gw.url}/streams").json()
        assert stream["name"] == "from the cli" and stream["stream_key"] in created.stdout.replace("\n", "")
        pushed = cli("stream", "push", str(clip), "--stream", stream["id"], "--gateway", gw.url)
        assert pushed.returncode == 0, pushed.stderr
        assert "sent 4.0 s" in pushed.stdout and stream["player_url"] in pushed.stdout.replace("\n", "")
        url = f"{gw.url}/streams/{stream['id']}"
        wait_for("both segments in", lambda: httpx.get(url).json()["segments"]["received"] == 2)
        shown = cli("stream", "status", stream["id"], "--json", "--gateway", gw.url)
        assert shown.returncode == 0 and json.loads(shown.stdout)["segments"]["received"] == 2
        ended = cli("stream", "end", stream["id"], "--gateway", gw.url)
        assert ended.returncode == 0 and "ended" in ended.stdout and "recording" in ended.stdout
        listed = cli("stream", "list", "--gateway", gw.url)
        assert listed.returncode == 0 and stream["id"] in listed.stdout
        again = cli("stream", "push", str(clip), "--stream", stream["id"], "--gateway", gw.url)
        assert again.returncode == 1 and "has ended" in again.stderr
        missing = cli("stream", "push", str(tmp_path / "nope.mp4"), "--stream", stream["id"], "--gateway", gw.url)
        assert missing.returncode == 1 and "no such file" in missing.stderr
    finally:
        gw.stop()
        orch.stop()
