"""Live streaming: latency, real time over minutes, an orchestrator's death, a 1080p
source, side by side with the ffmpeg command line doing the same on its own.

Every node is a real process (`framemesh gateway start --rtmp-port`, two `framemesh
orchestrator start`), the encoder is Debian's `ffmpeg -re … -f flv rtmp://…`, the
source a 720p30 test clip (keyframe every 2 s, AAC) looped for as long as a scenario
lasts, the ladder 480p + 360p. Figures:

- **segment latency**: from the moment the encoder sent a segment's last frame (the
  encoder sends in real time from timestamp 0, so that is its start plus the
  segment's end) to the moment a client polling the live playlist every 50 ms sees
  the segment listed, the same yardstick for framemesh and the baseline; also the part
  of it from the last frame reaching the gateway (its program date plus duration);
- **glass-to-glass**: in Debian's chromium playing the gateway's player page (hls.js),
  wall clock minus the program date of the frame on screen (`hls.playingDate`),
  sampled every second, for two hls.js settings;
- **sustained**: the same for `--minutes` (5 by default): latency per minute, skips,
  and the browser's rebuffers;
- **kill**: one orchestrator killed (`kill -9`) mid-stream: segments missing from the
  recording, discontinuities, and the delay the dead segment saw;
- **1080p**: a 1080p30 source to 720p + 480p + 360p: whether it keeps real time.

The baseline is `ffmpeg -listen 1 -i rtmp://…` → the same ladder → HLS with 2 s
segments (one process, no network, no payment, no checks), measured the same way.

Run:  python benchmarks/live.py [--minutes 5] [--no-write]     (about minutes + 6 min)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.processes import start_node, stop_nodes  # noqa: E402
from benchmarks.report import update_section  # noqa: E402
from framemesh.gateway.live.ai_work import OUTPUT as AI_OUTPUT  # noqa: E402
from framemesh.media.testclip import make_test_clip  # noqa: E402
from framemesh.net.server import free_port  # noqa: E402
from framemesh.sdk.client import GatewayClient, GatewayRequestError  # noqa: E402

LADDER = "480p,360p"
# Seconds from launching `ffmpeg -re` to its first frame on the wire (start-up and the
# RTMP handshake; about 0.25 s measured here): the encoder's clock starts then.
ENCODER_START = 0.25
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


def clip(width: int, height: int, seconds: float = 20.0) -> Path:
    cache = ROOT / ".cache" / "benchmarks"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"live-{width}x{height}-{seconds:g}s.mp4"
    if not path.exists():
        make_test_clip(path, duration=seconds, width=width, height=height)
    return path


class Network:
    """A gateway (RTMP on) and two orchestrators, each its own `framemesh` process;
    `orchestrator_args` go to both orchestrators (e.g. `--ai-config models.toml`)."""

    def __init__(self, root: Path, orchestrator_args: tuple[str, ...] = ()) -> None:
        self.root = root
        self.orchestrator_args = orchestrator_args
        root.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.urls: dict[str, str] = {}
        self.rtmp = free_port()

    def _start(self, name: str, *args: str) -> str:
        # Warm AI models load before /healthz answers: minutes on a busy two-core machine.
        try:
            self.procs[name], self.urls[name] = start_node(self.root, name, *args, timeout=300)
        except BaseException:
            stop_nodes(self.procs.values())  # no orphans when a later node fails to start
            raise
        return self.urls[name]

    def __enter__(self) -> "Network":
        for name in ("o1", "o2"):
            self._start(name, "orchestrator", "start", "--name", name, "--capacity", "2",
                        "--data-dir", str(self.root / name), *self.orchestrator_args)
        self.gateway = self._start(
            "gateway", "gateway", "start", "--data-dir", str(self.root / "gateway"), "--rtmp-port", str(self.rtmp),
            "--orchestrator", self.urls["o1"], "--orchestrator", self.urls["o2"], "--live-idle-timeout", "30", "--open",
        )
        return self

    def kill(self, url: str) -> None:
        name = next(n for n, u in self.urls.items() if u == url)
        os.kill(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def __exit__(self, *exc: object) -> None:
        stop_nodes(self.procs.values())
        logs = ROOT / ".cache" / "benchmarks" / "live-logs" / self.root.name
        logs.mkdir(parents=True, exist_ok=True)
        for log in self.root.glob("*.log"):
            shutil.copy(log, logs / log.name)


def push(source: Path, url: str, seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(source), "-t", f"{seconds:g}",
         "-c", "copy", "-f", "flv", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


class PlaylistWatcher(threading.Thread):
    """Polls a live media playlist (URL or file) every 50 ms and notes when each segment
    first appears, with its duration and program date (when its first frame reached
    the origin, where the playlist says)."""

    def __init__(self, read: Any) -> None:
        super().__init__(daemon=True)
        self.read = read
        self.order: list[str] = []
        self.seen: dict[str, float] = {}
        self.duration: dict[str, float] = {}
        self.program_date: dict[str, float] = {}
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                text = self.read()
            except Exception:  # not there yet, or between rewrites
                text = ""
            now = time.time()
            pdt = duration = None
            for line in text.splitlines():
                if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                    pdt = datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00")).timestamp()
                elif line.startswith("#EXTINF:"):
                    duration = float(line[8:].split(",")[0])
                elif line and not line.startswith("#"):
                    if line not in self.seen and duration is not None:
                        self.order.append(line)
                        self.seen[line] = now
                        self.duration[line] = duration
                        if pdt is not None:
                            self.program_date[line] = pdt
                    pdt = duration = None
            time.sleep(0.05)

    def from_encoder(self, sent_at: float) -> list[tuple[float, float]]:
        """(when its last frame was sent, latency) per segment, for an encoder that began
        sending at `sent_at` in real time from timestamp 0: the same yardstick for any
        origin."""
        out, end = [], 0.0
        for name in self.order:
            end += self.duration[name]
            out.append((sent_at + end, self.seen[name] - (sent_at + end)))
        return out

    def from_origin(self) -> list[float]:
        """Latency from the moment the last frame reached the origin (program date + duration)."""
        return [lat for _, lat in self.from_origin_at()]

    def from_origin_at(self) -> list[tuple[float, float]]:
        """(when its last frame reached the origin, latency from then to its listing) per segment."""
        return [(self.program_date[n] + self.duration[n], self.seen[n] - (self.program_date[n] + self.duration[n]))
                for n in self.order if n in self.program_date]


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    if not ordered:
        return float("nan"), float("nan")
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ffmpeg_baseline(source: Path, seconds: float, work: Path) -> list[float]:
    """The ffmpeg command line alone: RTMP in (listen), 480p + 360p, HLS out with 2 s segments."""
    port = free_port()
    out = work / "ffmpeg-hls"
    out.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-listen", "1", "-i", f"rtmp://127.0.0.1:{port}/live/x",
         "-filter_complex", "[0:v]split=2[a][b];[a]scale=-2:480[v0];[b]scale=-2:360[v1]",
         "-map", "[v0]", "-map", "0:a", "-map", "[v1]", "-map", "0:a",
         "-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-g", "60", "-sc_threshold", "0", "-c:a", "aac",
         "-b:v:0", "1200k", "-b:v:1", "700k",
         "-f", "hls", "-hls_time", "2", "-hls_list_size", "6", "-hls_flags", "delete_segments+program_date_time+independent_segments",
         "-var_stream_map", "v:0,a:0 v:1,a:1", "-master_pl_name", "master.m3u8", str(out / "v%v.m3u8")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    time.sleep(0.5)
    watcher = PlaylistWatcher(lambda: (out / "v1.m3u8").read_text())
    watcher.start()
    sent_at = time.time() + ENCODER_START
    encoder = push(source, f"rtmp://127.0.0.1:{port}/live/x", seconds)
    encoder.wait()
    server.wait(30)
    time.sleep(0.5)
    watcher.stop_event.set()
    return [lat for _, lat in watcher.from_encoder(sent_at)][:-1]  # the last one ends with the input, not a keyframe


def glass_to_glass(player_url: str, seconds: float, sync: int) -> dict[str, Any]:
    """Chromium playing the player page: latency samples, rebuffers, stalls."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--autoplay-policy=no-user-gesture-required"],
        )
        page = browser.new_page()
        page.goto(f"{player_url}?sync={sync}")
        page.wait_for_function("() => window.framemesh && window.framemesh.started", timeout=90_000)
        samples = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            snap = page.evaluate("() => window.framemeshSnapshot()")
            if snap["latency"] is not None:
                samples.append(snap["latency"])
            time.sleep(1.0)
        final = page.evaluate("() => window.framemeshSnapshot()")
        browser.close()
    return {"latency": samples, "rebuffers": final["rebuffers"], "stalls": final["stalls"], "fatal": final["fatal"]}


class EventLog(threading.Thread):
    """A stream's server-sent events (`GET /streams/{id}/events`, read with the SDK), each
    with the wall time it arrived, until the stream's `end` (or the gateway goes)."""

    def __init__(self, gateway: str, stream_id: str) -> None:
        super().__init__(daemon=True)
        self.gateway, self.stream_id = gateway, stream_id
        self.events: list[tuple[float, str, dict[str, Any]]] = []

    def run(self) -> None:
        asyncio.run(self._read())

    async def _read(self) -> None:
        async with GatewayClient(self.gateway) as client:
            try:
                async for kind, data in client.stream_events(self.stream_id):
                    self.events.append((time.time(), kind, data))
            except GatewayRequestError:
                pass


def live_run(net: Network, source: Path, seconds: float, profiles: str, *, ai: dict[str, Any] | None = None,
             browser_sync: int | None = None, kill_after: float | None = None,
             during: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """One stream of `source` looped for `seconds`, transcoded to `profiles` or, with `ai`
    ({"model_id", "params"}), processed by a live AI model (its one rendition `ai`).
    `during(stream)` is called once the encoder runs; its answer is kept as "during"."""
    gw = net.gateway
    body = {"name": "bench", "record": True, **({"ai": ai} if ai is not None else {"profiles": profiles})}
    stream = httpx.post(f"{gw}/streams", json=body, timeout=30).json()
    rendition = AI_OUTPUT if ai is not None else profiles.split(",")[-1]
    events = EventLog(gw, stream["id"])
    events.start()
    media = stream["playback_url"].replace("index.m3u8", f"{rendition}/index.m3u8")
    watcher = PlaylistWatcher(lambda: httpx.get(media, timeout=2).text)
    watcher.start()
    started = time.time()
    encoder = push(source, stream["rtmp_url"], seconds)
    sent_at = started + ENCODER_START
    browser: dict[str, Any] = {}
    killed = None
    if browser_sync is not None:
        browser = glass_to_glass(stream["player_url"], seconds - 8, browser_sync)
    elif kill_after is not None:
        time.sleep(kill_after)
        now = httpx.get(f"{gw}/streams/{stream['id']}").json()
        killed = now["orchestrator"]
        if killed not in net.urls.values():
            raise RuntimeError(f"the stream is on no orchestrator {kill_after:g} s in: {now}")
        net.kill(killed)
    extra = during(stream) if during is not None else None
    encoder.wait()
    ended = httpx.delete(f"{gw}/streams/{stream['id']}", timeout=120).json()
    time.sleep(0.3)
    watcher.stop_event.set()
    events.join(10)
    vod = httpx.get(ended["recording_url"].replace("master.m3u8", f"{rendition}/index.m3u8")).text if ended["recording_url"] else ""
    # the last segment ends with the input, not a keyframe: left out of the figures
    order = watcher.order[:-1]
    return {
        "stream": ended, "latency": [lat for _, lat in watcher.from_encoder(sent_at)][:-1],
        "origin": watcher.from_origin()[:-1], "times": [t for t, _ in watcher.from_encoder(sent_at)][:-1], "started": started,
        "origin_at": [t for t, _ in watcher.from_origin_at()][:-1],
        "listed_at": [watcher.seen[n] for n in order], "program_dates": [watcher.program_date.get(n) for n in order],
        "durations": [watcher.duration[n] for n in order], "events": events.events, "during": extra,
        "browser": browser, "killed": killed, "recorded": vod.count("#EXTINF"), "discontinuities": vod.count("#EXT-X-DISCONTINUITY"),
    }


def plot(sustained: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    xs = [(t - sustained["started"]) / 60 for t in sustained["times"]]
    ax.plot(xs, sustained["latency"], ".", label="segment latency (last frame in → listed)")
    if sustained["browser"].get("latency"):
        g2g = sustained["browser"]["latency"]
        ax.plot([i / 60 for i in range(len(g2g))], g2g, "-", label="glass-to-glass in Chromium (hls.js)")
    ax.set_xlabel("minutes into the stream")
    ax.set_ylabel("seconds")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.set_title("framemesh live: 720p30 over RTMP → 480p + 360p, gateway + 2 orchestrators, 2 cores")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


SCENARIOS = ("g2g3", "g2g2", "sustained", "1080", "kill")
RESULTS = ROOT / ".cache" / "benchmarks" / "live-results.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--resume", action="store_true", help="keep the scenarios a previous run finished")
    args = parser.parse_args()
    src720, src1080 = clip(1280, 720), clip(1920, 1080)
    saved: dict[str, Any] = json.loads(RESULTS.read_text()) if args.resume and RESULTS.exists() else {}
    runs = {
        "g2g3": lambda net: live_run(net, src720, 60, LADDER, browser_sync=3),
        "g2g2": lambda net: live_run(net, src720, 60, LADDER, browser_sync=2),
        "sustained": lambda net: live_run(net, src720, args.minutes * 60, LADDER, browser_sync=3),
        "1080": lambda net: live_run(net, src1080, 60, "720p,480p,360p"),
        "kill": lambda net: live_run(net, src720, 40, LADDER, kill_after=20),
    }
    with tempfile.TemporaryDirectory(prefix="framemesh-live-bench-") as tmp:
        work = Path(tmp)
        if "baseline" not in saved:
            print("baseline: ffmpeg alone …", flush=True)
            saved["baseline"] = ffmpeg_baseline(src720, 60, work)
            RESULTS.write_text(json.dumps(saved))
        for name in SCENARIOS:
            if name in saved:
                continue
            print(f"{name} …", flush=True)
            with Network(work / f"net-{name}") as net:  # a fresh network each: the kill leaves one dead
                saved[name] = runs[name](net)
            RESULTS.write_text(json.dumps(saved))
    report(saved["baseline"], saved, args)


def report(base: list[float], r: dict[str, Any], args: argparse.Namespace) -> None:
    ours_med, ours_p95 = percentiles(r["g2g3"]["latency"] + r["g2g2"]["latency"])
    base_med, base_p95 = percentiles(base)
    lines = [
        f"Source: a 720p30 test clip (keyframe every 2 s, AAC) pushed over RTMP in real time by `ffmpeg -re`, looped; "
        f"ladder {LADDER}; gateway and 2 orchestrators each its own process, off-chain; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the end. Command: `python benchmarks/live.py"
        f"{'' if args.minutes == 5 else f' --minutes {args.minutes:g}'}`",
        "",
        "| | framemesh | ffmpeg alone | ratio |",
        "| --- | ---: | ---: | ---: |",
        f"| segment latency, median (s) | {ours_med:.2f} | {base_med:.2f} | {ours_med / base_med:.2f}x |",
        f"| segment latency, p95 (s) | {ours_p95:.2f} | {base_p95:.2f} | {ours_p95 / base_p95:.2f}x |",
        f"| … of which from the last frame reaching the gateway to its listing, median / p95 (s) | "
        f"{percentiles(r['g2g3']['origin'] + r['g2g2']['origin'])[0]:.2f} / {percentiles(r['g2g3']['origin'] + r['g2g2']['origin'])[1]:.2f} | | |",
    ]
    for key, label in (("g2g3", "hls.js default (`liveSyncDurationCount` 3)"), ("g2g2", "`liveSyncDurationCount` 2")):
        b = r[key]["browser"]
        med, p95 = percentiles(b["latency"])
        lines.append(f"| glass-to-glass in Chromium, {label}: median / p95 (s) | {med:.2f} / {p95:.2f} | | |")
        lines.append(f"| … its rebuffers / stalls / fatal errors | {b['rebuffers']} / {b['stalls']} / {b['fatal'] or 0} | | |")
    s = r["sustained"]
    per_minute = {}
    for t, lat in zip(s["times"], s["latency"]):
        per_minute.setdefault(int((t - s["started"]) // 60), []).append(lat)
    minutes = " · ".join(f"{m + 1}: {statistics.median(v):.2f}" for m, v in sorted(per_minute.items()))
    st = s["stream"]["segments"]
    lines += [
        "",
        f"**Sustained {args.minutes:g} min**: segment latency median by minute {minutes} s; "
        f"{st['listed']} of {st['received']} segments listed, {st['skipped']} skipped; browser rebuffers "
        f"{s['browser']['rebuffers']}, stalls {s['browser']['stalls']}, glass-to-glass median "
        f"{percentiles(s['browser']['latency'])[0]:.2f} s. Plot: `benchmarks/live.png`.",
    ]
    k = r["kill"]
    ks = k["stream"]
    slowest = max((x["latency"] for x in ks["recent"] if x["latency"] is not None), default=float("nan"))
    retried = [x for x in ks["recent"] if x["attempts"] > 1]
    retries = ", ".join(
        f"seg {x['seq']}: {x['attempts']} attempts, listed {x['latency']:.2f} s after its last frame" for x in retried
    ) or "none in work"
    lines += [
        "",
        f"**One orchestrator killed (`kill -9`) 20 s into a 40 s stream**: {ks['segments']['received'] - k['recorded']} "
        f"segments missing from the recording ({k['recorded']} recorded of {ks['segments']['received']}), "
        f"{k['discontinuities']} discontinuities, {ks['swaps']} swap(s); the segment in work on the dead node was "
        f"retried elsewhere ({retries}); "
        f"the slowest of the last segments was listed {slowest:.2f} s after its last frame.",
    ]
    h = r["1080"]
    hs = h["stream"]
    med, p95 = percentiles(h["latency"])
    trips = [x["round_trip"] for x in hs["recent"] if x["round_trip"] is not None]
    lines += [
        "",
        f"**1080p30 → 720p + 480p + 360p**: {hs['segments']['listed']} of {hs['segments']['received']} segments listed, "
        f"{hs['segments']['skipped']} skipped; segment latency median {med:.2f} s, p95 {p95:.2f} s; round trip median "
        f"{statistics.median(trips) if trips else float('nan'):.2f} s for 2 s segments "
        f"({'keeps' if hs['segments']['skipped'] == 0 and p95 < 4 else 'does not keep'} real time on this machine).",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        plot(s, ROOT / "benchmarks" / "live.png")
        update_section("live", "Live streaming", body)


if __name__ == "__main__":
    main()
