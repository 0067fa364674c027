"""Signing and verification time against output size (not a test: run it by hand).

    python -m tests.provenance.bench [--big]

Outputs: a ~1 MB PNG, a ~10 MB plain MP4 and a ~10 MB fragmented MP4 (the
transcoder's), with --big also ~100 MB. Prints the median of a few runs in ms, and
signing as a fraction of the time it took to make the file.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from framemesh.media.profiles import RenditionSpec
from framemesh.media.testclip import make_test_clip
from framemesh.media.transcode import transcode_segment
from framemesh.provenance import Facts, init_dev_identity, read_provenance, sign_file

from .media import picture, write_image

ADDRESS = "0x" + "a1" * 20


def timed(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(big: bool) -> None:
    d = Path(tempfile.mkdtemp(prefix="provenance-bench-"))
    identity = init_dev_identity(d / "keys", address=ADDRESS, name="bench")
    ca = (d / "keys" / "ca.pem").read_text()
    cases: list[tuple[str, Path, float, Facts]] = []

    t = time.perf_counter()
    png = write_image(d / "image.png", picture(600, 600))
    cases.append(
        (
            "PNG",
            png,
            time.perf_counter() - t,
            Facts(kind="generated", address=ADDRESS, job_id="b", pipeline="text-to-image"),
        )
    )
    sizes = [("10 MB", 10.0)] + ([("100 MB", 100.0)] if big else [])
    for label, megabytes in sizes:
        seconds = max(2.0, megabytes * 1.0)  # ~8 Mbit/s rendition: 1 MB a second
        t = time.perf_counter()
        clip = make_test_clip(d / f"src-{label}.mp4", duration=seconds, width=1280, height=720, preset="ultrafast")
        made = time.perf_counter() - t
        cases.append(
            (
                f"MP4 {label}",
                clip,
                made,
                Facts(
                    kind="transcoded",
                    address=ADDRESS,
                    job_id="b",
                    pipeline="transcode",
                    ingredients=[(clip, "parentOf")],
                ),
            )
        )
        t = time.perf_counter()
        [out] = transcode_segment(
            clip,
            [RenditionSpec("720p", 1280, 720, int(megabytes * 8e6 / seconds), 128_000)],
            d / f"tr-{label}",
            preset="ultrafast",
        )
        made = time.perf_counter() - t
        cases.append(
            (
                f"fMP4 {label}",
                out.path,
                made,
                Facts(
                    kind="transcoded",
                    address=ADDRESS,
                    job_id="b",
                    pipeline="transcode",
                    ingredients=[(clip, "parentOf")],
                ),
            )
        )

    print(f"{'output':<14}{'size':>10}{'made in':>10}{'sign':>10}{'verify':>10}{'sign/made':>11}")
    for name, path, made, facts in cases:
        dest = path.with_name("signed-" + path.name)
        sign = timed(lambda p=path, d=dest, f=facts: sign_file(p, d, identity, f))
        verify = timed(lambda d=dest: read_provenance(d, trust_anchors=[ca]))
        assert read_provenance(dest, trust_anchors=[ca]).status == "valid"
        size = path.stat().st_size / 1e6
        print(
            f"{name:<14}{size:>8.1f}MB{made * 1e3:>8.0f}ms{sign * 1e3:>8.1f}ms{verify * 1e3:>8.1f}ms{sign / made:>10.1%}"
        )


if __name__ == "__main__":
    main("--big" in sys.argv)
