"""What provenance costs: C2PA signing and verification time per output, against the
output's size and the time it took to make it.

Outputs: a ~1 MB PNG (what an image pipeline returns), and ~10 MB (with --big also
~100 MB) video as the transcoder makes it: a fragmented MP4 rendition encoded with
our default preset (veryfast), and the same as a plain MP4. "Made in" is the time to
produce the output (the encode), so "sign / made" is what signing adds to the job.
Targets: signing adds under 2% to a transcode and under 50 ms to an image.

Run:  python benchmarks/provenance.py [--big] [--no-write]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import av
import numpy as np

from framemesh.media.profiles import RenditionSpec
from framemesh.media.testclip import make_test_clip
from framemesh.media.transcode import transcode_segment
from framemesh.provenance import Facts, init_dev_identity, read_provenance, sign_file

from report import update_section  # benchmarks/report.py

ADDRESS = "0x" + "a1" * 20


def timed(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def make_png(path: Path, side: int = 600) -> float:
    """A ~1 MB PNG of noise over a gradient (hard to compress, as photos are)."""
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, side, dtype=np.float32)
    pixels = (ramp[None, :, None] * 0.5 + rng.integers(0, 128, (side, side, 3))).clip(0, 255).astype(np.uint8)
    started = time.perf_counter()
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = side, side, "rgb24"
        for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true", help="also a ~100 MB video")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="provenance-bench-"))
    identity = init_dev_identity(work / "keys", address=ADDRESS, name="bench")
    ca = (work / "keys" / "ca.pem").read_text()
    generated = Facts(kind="generated", address=ADDRESS, job_id="bench", pipeline="text-to-image")
    cases: list[tuple[str, Path, float, Facts]] = [("PNG image", work / "image.png", 0.0, generated)]
    cases[0] = (cases[0][0], cases[0][1], make_png(cases[0][1]), generated)
    for label, megabytes in [("10 MB", 10.0)] + ([("100 MB", 100.0)] if args.big else []):
        seconds = megabytes  # an ~8 Mbit/s rendition: about 1 MB per second
        source = make_test_clip(work / f"src-{label}.mp4", duration=seconds, width=1280, height=720, preset="ultrafast")
        facts = Facts(kind="transcoded", address=ADDRESS, job_id="bench", pipeline="transcode", ingredients=[(source, "parentOf")])
        started = time.perf_counter()
        [out] = transcode_segment(
            source, [RenditionSpec("720p", 1280, 720, int(megabytes * 8e6 / seconds), 128_000)], work / f"tr-{label}",
            preset="veryfast",
        )
        made = time.perf_counter() - started
        cases.append((f"fMP4 rendition {label}", out.path, made, facts))
        cases.append((f"MP4 {label}", source, made, facts))

    lines = [
        "Median of 5 signings/verifications each, checked against the dev CA; \"made in\" is the encode "
        "(libx264 veryfast) or the PNG encode. Command: `python benchmarks/provenance.py"
        + (" --big" if args.big else "") + "`. Targets: under 2% of a transcode, under 50 ms for an image.",
        "",
        "| output | size | made in | sign | verify | sign / made |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, path, made, facts in cases:
        dest = path.with_name("signed-" + path.name)
        sign = timed(lambda p=path, d=dest, f=facts: sign_file(p, d, identity, f))
        verify = timed(lambda d=dest: read_provenance(d, trust_anchors=[ca]))
        assert read_provenance(dest, trust_anchors=[ca]).status == "valid"
        lines.append(
            f"| {name} | {path.stat().st_size / 1e6:.1f} MB | {made * 1e3:.0f} ms | {sign * 1e3:.1f} ms "
            f"| {verify * 1e3:.1f} ms | {sign / made:.1%} |"
        )
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        update_section("provenance", "Provenance", body)


if __name__ == "__main__":
    main()
