"""Transcoding speed: the ffmpeg command line vs framemesh's media/ vs the whole network.

The same source (a 1080p30 clip the script makes, 60 s by default) to the same
three-rendition ladder (720p/480p/360p, libx264 preset veryfast, the same bitrates,
AAC audio), three ways in one run:

1. `ffmpeg` (Debian's package: `apt-get install -y ffmpeg`), one process, one decode,
   three encodes;
2. framemesh's `media.transcode.transcode_segment` called directly on the whole file;
3. the full network: a gateway and two orchestrators on loopback in this process,
   the clip uploaded, segmented, transcoded in parallel, checked and assembled.

Prints wall time and the ratio to ffmpeg for each and writes the table into
BENCHMARKS.md.  Run:  python benchmarks/transcode.py [--seconds 60] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

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
    scales = ";".join(f"[v{i}]scale={s.width}:{s.height},fps=30[o{i}]" for i, s in enumerate(specs))
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), "-filter_complex", f"{split};{scales}"]
    for i, s in enumerate(specs):
        cmd += [
            "-map", f"[o{i}]", "-map", "0:a?",
            "-c:v", "libx264", "-preset", PRESET, "-b:v", str(s.video_bitrate), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", str(s.audio_bitrate),
            str(out_dir / f"{s.name}.mp4"),
        ]
    return cmd


def run_ffmpeg(source: Path, out_dir: Path) -> float:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise SystemExit("ffmpeg not found: install Debian's package (apt-get install -y ffmpeg)")
    cmd = ffmpeg_command(source, out_dir)
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - started


def run_media(source: Path, out_dir: Path) -> float:
    info = probe(source)
    assert info.video is not None
    specs = plan_renditions(info.video.width, info.video.height, parse_profiles(PROFILES))
    started = time.perf_counter()
    transcode_segment(source, specs, out_dir, preset=PRESET)
    return time.perf_counter() - started


def run_network(source: Path, root: Path) -> float:
    nodes = []
    try:
        urls = []
        for i in (1, 2):
            config = OrchestratorConfig(data_dir=root / f"o{i}", name=f"o{i}", capacity=1, encoder_preset=PRESET)
            nodes.append(ServerThread(create_orchestrator(config)).start())
            urls.append(nodes[-1].url)
        gateway = ServerThread(create_gateway(GatewayConfig(data_dir=root / "gw", orchestrators=tuple(urls)))).start()
        nodes.append(gateway)

        async def go() -> float:
            async with GatewayClient(gateway.url) as client:
                started = time.perf_counter()
                job = await client.submit(source, PROFILES)
                status = await client.wait(job.id, interval=0.05)
                elapsed = time.perf_counter() - started
                if status.state != "completed":
                    raise SystemExit(f"network job {status.state}: {status.error}")
                return elapsed

        return asyncio.run(go())
    finally:
        for node in reversed(nodes):
            node.stop()


def write_markdown(rows: list[tuple[str, float]], seconds: float, command: str) -> str:
    base = rows[0][1]
    lines = [
        f"Source: {seconds:g} s 1080p30 H.264 + AAC clip; ladder {PROFILES}, libx264 `{PRESET}`; "
        f"machine: {platform.machine()}, {__import__('os').cpu_count()} cores. Command: `{command}`",
        "",
        "| way | wall time (s) | ratio to ffmpeg |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {t:.2f} | {t / base:.2f}x |" for name, t in rows]
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
    parser.add_argument("--no-write", action="store_true", help="don't update BENCHMARKS.md")
    args = parser.parse_args()
    source = source_clip(args.seconds)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, fn in (
            ("ffmpeg CLI", lambda: run_ffmpeg(source, _mk(root / "ffmpeg"))),
            ("framemesh media/ (direct)", lambda: run_media(source, _mk(root / "media"))),
            ("framemesh network (gateway + 2 orchestrators)", lambda: run_network(source, _mk(root / "net"))),
        ):
            print(f"{name} ...", flush=True)
            rows.append((name, fn()))
            print(f"  {rows[-1][1]:.2f} s ({rows[-1][1] / rows[0][1]:.2f}x ffmpeg)", flush=True)
    command = "python benchmarks/transcode.py" + (f" --seconds {args.seconds:g}" if args.seconds != 60 else "")
    body = write_markdown(rows, args.seconds, command)
    print(body)
    if not args.no_write:
        update_benchmarks_md("transcode", body)


def _mk(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    main()
