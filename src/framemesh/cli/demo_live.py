"""The demo's live stream: a short clip pushed over RTMP in real time (by `framemesh
stream push`, in its own process, as an encoder would be), cut into segments as it
arrives, transcoded by the orchestrators for tickets, listed in a live playlist, and
recorded. Prints its latency, round trips and fees; the recording is copied out.

Then, with the AI models, a live AI stream: the same clip processed by the tiny Stable
Diffusion as it plays (`live-video-to-video`), its prompt changed mid-stream."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from framemesh.cli.output import console
from framemesh.media.probe import probe
from framemesh.sdk.client import KEY_ENV

LIVE_PROFILES = "480p,360p"
LIVE_AI = {"model_id": "framemesh/tiny-sd",
           "params": {"prompt": "a watercolour city at dusk", "width": 128, "height": 128, "num_inference_steps": 1}}
NEW_PROMPT = "a neon city in the rain"


@dataclass(frozen=True)
class LiveResult:
    ok: bool
    problem: str | None = None
    by_orchestrator: dict[str, int] = field(default_factory=dict)  # live segments each listed


def run_live_stream(
    gateway: str, source: Path, out: Path, outputs_dir: Path, seconds: float, *, token: str | None = None,
    ai: bool = False,
) -> LiveResult:
    """`token`: the API key to create, follow and end the stream with. `ai`: a live AI
    stream (the tiny SD), its prompt changed once its first segment is listed."""
    clip = source
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    what = "live AI" if ai else "live"
    body = {"name": "demo-ai", "ai": LIVE_AI} if ai else {"name": "demo", "profiles": LIVE_PROFILES, "record": True}
    with httpx.Client(base_url=gateway, timeout=120, headers=headers) as http:
        stream = http.post("/streams", json=body).json()
        console.print(f"{what} stream {stream['id']}: pushing {min(seconds, probe(clip).duration):.0f} s over RTMP in real time "
                      f"to {stream['rtmp_url'].rsplit('/', 1)[0]}/…, playlist {stream['playback_url']}", soft_wrap=True)
        started = time.monotonic()
        with console.status(f"{what}: streaming (segments are listed as they come back)") as spinner:
            encoder = subprocess.Popen(
                [sys.executable, "-m", "framemesh", "stream", "push", str(clip), "--stream", stream["id"], "--gateway", gateway],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                env={**os.environ, KEY_ENV: token} if token else None,
            )
            changed = False
            while encoder.poll() is None:
                time.sleep(0.5)
                now = http.get(f"/streams/{stream['id']}").json()
                if ai and not changed and now["segments"]["listed"] >= 1:
                    http.post(f"/streams/{stream['id']}/control", json={"params": {"prompt": NEW_PROMPT}})
                    changed = True
                spinner.update(f"{what}: {now['segments']['listed']} segment(s) listed, "
                               f"{time.monotonic() - started:.0f} s")
            _, err = encoder.communicate()
        if encoder.returncode != 0:
            http.delete(f"/streams/{stream['id']}")
            return LiveResult(False, f"the encoder failed: {err.strip()[-300:]}")
        ended = http.delete(f"/streams/{stream['id']}").json()
    seg = ended["segments"]
    lat = ended["latency"]
    trips = [r["round_trip"] for r in ended["recent"] if r["round_trip"] is not None]
    if ai and ended.get("ai"):
        figures, controls = ended["ai"], ended["ai"]["controls"]
        shown = next((c for c in controls if c["state"] == "applied"), None)
        console.print(
            f"live AI ({figures['model_id']}): {figures['fps_out']} of {figures['fps_in']} fps through the model, "
            f"{100 * (figures['dropped'] or 0):.0f}% of frames dropped (held), model time {figures['processing']} s a segment"
            + (f"; the new prompt showed at segment {shown['effective_seq']}, {shown['seconds_to_effect']} s after it was sent"
               if shown else ""),
            soft_wrap=True,
        )
    console.print(
        f"{what}: {seg['listed']} of {seg['received']} segments listed, {seg['skipped']} skipped; latency (last frame in → "
        f"listed) median {lat['median']:.2f} s, p95 {lat['p95']:.2f} s; round trips "
        + ", ".join(f"{t:.2f}" for t in trips) + f" s; {ended['swaps']} swap(s); orchestrators {ended['orchestrators']}; "
        f"fees {ended['fees_wei'] / 1e9:g} gwei",
        soft_wrap=True,
    )
    if ended.get("recording_url"):
        recording = outputs_dir / "live" / ended["id"] / "recording"
        target = out / "live"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(recording, target)
        console.print(f"live recording: [bold]{(target / 'master.m3u8').resolve()}[/]", soft_wrap=True)
    if seg["listed"] == 0:
        return LiveResult(False, "no live segment came back", ended["orchestrators"])
    return LiveResult(seg["skipped"] == 0 and ended["state"] == "ended",
                      None if seg["skipped"] == 0 else f"{seg['skipped']} live segment(s) skipped", ended["orchestrators"])
