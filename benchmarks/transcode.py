"""Transcoding speed: the ffmpeg command line vs framemesh's media/ vs the whole network.

The same source (a 1080p30 clip the script makes once and caches under
`.cache/benchmarks/`, 60 s by default) to the same three-rendition ladder
(720p/480p/360p, libx264 preset veryfast, no B-frames, 30 fps out, the same bitrates,
AAC audio at the same bitrates), three ways:

1. `ffmpeg` (Debian's package: `apt-get install -y ffmpeg`), one process, one decode,
   three encodes, with our encoder's settings (`-bf 0`, an fps=30 filter);
2. framemesh's `media.transcode.transcode_segment` called directly on the whole file;
3. the full network: a gateway and two orchestrators on loopback in this process,
   the clip uploaded, segmented, transcoded in parallel, checked and assembled.

Each way runs `--repeat` times (the ways take turns, so a burst of other work on
the machine hits all of them alike); the table gives the median wall time and the
median CPU time (user + sys of this process and its children, from
`resource.getrusage`: ffmpeg, the orchestrators' and the gateway's worker processes)
and their ratios to ffmpeg's, and goes into BENCHMARKS.md with the load average seen,
since other work on the machine inflates wall times but hardly CPU times.

Run:  python benchmarks/transcode.py [--seconds 60] [--repeat 1] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing.forkserver
import os
import platform
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from framemesh.gateway.app import create_app as create_gateway
from framemesh.gateway.config import GatewayConfig
from framemesh.media.probe import probe
from framemesh.media.profiles import parse_profiles, plan_renditions
from framemesh.media.testclip import make_test_clip
from framemesh.media.transcode import transcode_segment
from framemesh.net.server import ServerThread
from framemesh.orchestrator.app import create_app as create_orchestrator
from framemesh.orchestrator.config import OrchestratorConfig
from framemesh.sdk.client import GatewayClient

ROOT = Path(__file__).resolve().parent.parent
PROFILES = "720p,480p,360p"
PRESET = "veryfast"


def source_clip(seconds: float) -> Path:
    cache = ROOT / ".cache" / "benchmarks"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"source-1080p30-{seconds:g}s.mp4"
    if not path.exists():
        print(f"making a {seconds:g} s 1080p30 source clip (cached in {path}) ...", flush=True)
        make_test_clip(path, duration=seconds, width=1920, height=1080, fps=30)
    return path


def ffmpeg_command(source: Path, out_dir: Path) -> list[str]:
    info = probe(source)
    assert info.video is not None
    specs = plan_renditions(info.video.width, info.video.height, parse_profiles(PROFILES))
    split = f"[0:v]split={len(specs)}" + "".join(f"[v{i}]" for i in range(len(specs)))
    # same as media/encoder.py: bicubic scaling, a constant 30 fps, no B-frames
    scales = ";".join(f"[v{i}]scale={s.width}:{s.height}:flags=bicubic,fps={s.fps}[o{i}]" for i, s in enumerate(specs))
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), "-filter_complex", f"{split};{scales}"]
    for i, s in enumerate(specs):
        cmd += [
            "-map", f"[o{i}]", "-map", "0:a?",
            "-c:v", "libx264", "-preset", PRESET, "-bf", "0", "-b:v", str(s.video_bitrate), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", str(s.audio_bitrate),
            str(out_dir / f"{s.name}.mp4"),
        ]
    return cmd


def run_ffmpeg(source: Path, out_dir: Path) -> None:
    if shutil.which("ffmpeg") is None:
        raise SystemExit("ffmpeg not found: install Debian's package (apt-get install -y ffmpeg)")
    subprocess.run(ffmpeg_command(source, out_dir), check=True)


def run_media(source: Path, out_dir: Path) -> None:
    info = probe(source)
    assert info.video is not None
    specs = plan_renditions(info.video.width, info.video.height, parse_profiles(PROFILES))
    transcode_segment(source, specs, out_dir, preset=PRESET)


def run_network(source: Path, root: Path) -> None:
    nodes = []
    try:
        urls = []
        for i in (1, 2):
            config = OrchestratorConfig(data_dir=root / f"o{i}", name=f"o{i}", capacity=1, encoder_preset=PRESET)
            nodes.append(ServerThread(create_orchestrator(config)).start())
            urls.append(nodes[-1].url)
        gateway = ServerThread(create_gateway(GatewayConfig(data_dir=root / "gw", orchestrators=tuple(urls), open=True))).start()
        nodes.append(gateway)

        async def go() -> None:
            async with GatewayClient(gateway.url) as client:
                job = await client.submit(source, PROFILES)
                status = await client.wait(job.id, interval=0.05)
                if status.state != "completed":
                    raise SystemExit(f"network job {status.state}: {status.error}")

        asyncio.run(go())
    finally:
        for node in reversed(nodes):
            node.stop()
        _reap_worker_processes()


def _reap_worker_processes(timeout: float = 30.0) -> None:
    """Stop multiprocessing's fork server once its workers are gone, and wait for it.

    The orchestrators' and the gateway's worker processes are children of the fork
    server, which reaps them; getrusage(RUSAGE_CHILDREN) counts their CPU time only
    once the fork server itself has exited and been waited for. The next run starts
    a fresh one.
    """
    server: Any = multiprocessing.forkserver._forkserver  # private: there is no public way to stop it
    pid = server._forkserver_pid
    if pid is None:
        return
    deadline = time.monotonic() + timeout
    while _children(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    server._stop()


def _children(pid: int) -> list[str]:
    try:
        return [c for task in os.listdir(f"/proc/{pid}/task") for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its children that have been waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(fn: Callable[[], None]) -> tuple[float, float]:
    """Wall and CPU seconds that `fn()` takes."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    fn()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def write_markdown(rows: list[tuple[str, float, float]], seconds: float, command: str, repeat: int, load: str) -> str:
    _, base_wall, base_cpu = rows[0]
    lines = [
        (
            f"Source: {seconds:g} s 1080p30 H.264 + AAC clip; ladder {PROFILES}, libx264 `{PRESET}`, no B-frames, "
            f"30 fps out; machine: {platform.machine()}, {os.cpu_count()} cores; load average {load}. "
            f"Median of {repeat} run{'s' if repeat > 1 else ''} each. Command: `{command}`"
        ),
        "",
        "| way | wall time (s) | ratio to ffmpeg | CPU time (s) | ratio to ffmpeg |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {name} | {wall:.2f} | {wall / base_wall:.2f}x | {cpu:.2f} | {cpu / base_cpu:.2f}x |"
        for name, wall, cpu in rows
    ]
    return "\n".join(lines)


def update_benchmarks_md(section: str, body: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nProduced by the scripts in `benchmarks/`.\n"
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    block = f"{start}\n{body}\n{end}"
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + f"\n\n## Transcoding\n\n{block}\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each way; the table gives the median")
    parser.add_argument("--no-write", action="store_true", help="don't update BENCHMARKS.md")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    source = source_clip(args.seconds)
    ways: dict[str, Callable[[Path], None]] = {
        "ffmpeg CLI": lambda out: run_ffmpeg(source, out),
        "framemesh media/ (direct)": lambda out: run_media(source, out),
        "framemesh network (gateway + 2 orchestrators)": lambda out: run_network(source, out),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    loads = [os.getloadavg()[0]]
    for run in range(args.repeat):
        for name, fn in ways.items():  # the ways take turns, so noise hits all alike
            with tempfile.TemporaryDirectory() as tmp:
                print(f"{name} (run {run + 1}/{args.repeat}) ...", flush=True)
                wall, cpu = measure(partial(fn, Path(tmp)))
            times[name].append((wall, cpu))
            base = statistics.median(w for w, _ in times["ffmpeg CLI"])
            print(f"  wall {wall:.2f} s ({wall / base:.2f}x ffmpeg), CPU {cpu:.2f} s", flush=True)
            loads.append(os.getloadavg()[0])
    rows = [
        (name, statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for name, runs in times.items()
    ]
    command = "python benchmarks/transcode.py" + (f" --seconds {args.seconds:g}" if args.seconds != 60 else "")
    command += f" --repeat {args.repeat}" if args.repeat != 1 else ""
    load = f"{min(loads):.1f}-{max(loads):.1f} (1 min, sampled between runs)"
    body = write_markdown(rows, args.seconds, command, args.repeat, load)
    print(body)
    if not args.no_write:
        update_benchmarks_md("transcode", body)


if __name__ == "__main__":
    main()
