"""The transcoding work itself, run in a worker process so encoding never blocks the
event loop and a crash in FFmpeg takes down a worker, not the node.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from framemesh.media.plan import plan_file
from framemesh.media.transcode import transcode_segment
from framemesh.orchestrator.signing import SigningSpec, sign_renditions
from framemesh.wire.bundle import sha256_file, write_bundle
from framemesh.wire.orchestrator import RenditionResult, TranscodeResult


def transcode_to_bundle(
    segment: Path,
    profiles: tuple[str, ...],
    work_dir: Path,
    *,
    job_id: str,
    index: int,
    orchestrator: str,
    preset: str,
    threads: int | None = None,
    signing: SigningSpec | None = None,
) -> tuple[Path, int]:
    """Transcode one segment to the wanted profiles and pack the result.

    `threads` is per rendition encoder; None: `encoder_threads` for this machine.
    Returns the bundle's path and the output pixels (what the work is priced by).
    Raises the media part's errors for input that is not a usable video.
    """
    started = time.perf_counter()
    specs, _ = plan_file(segment, profiles)
    if threads is None:
        threads = encoder_threads(len(specs), os.cpu_count() or 1)
    outputs = transcode_segment(segment, specs, work_dir / "out", preset=preset, threads=threads)
    if signing is not None:
        sign_renditions(signing, segment, [out.path for out in outputs], job_id=job_id)
    renditions = []
    files: dict[str, Path] = {}
    pixels = 0
    for out in outputs:
        member = f"{out.name}.mp4"
        files[member] = out.path
        pixels += out.width * out.height * out.frames
        renditions.append(
            RenditionResult(
                name=out.name,
                file=member,
                width=out.width,
                height=out.height,
                duration=out.duration,
                frames=out.frames,
                bytes=out.path.stat().st_size,
                sha256=sha256_file(out.path),
            )
        )
    result = TranscodeResult(
        job_id=job_id,
        segment=index,
        renditions=renditions,
        pixels=pixels,
        orchestrator=orchestrator,
        elapsed=time.perf_counter() - started,
    )
    bundle = write_bundle(result, files, work_dir / "bundle.tar")
    return bundle, pixels


def encoder_threads(renditions: int, cpus: int, jobs: int = 1) -> int:
    """x264 threads per rendition encoder so that `jobs` segments of `renditions`
    renditions each, encoded at once, ask for about `cpus` threads in all. Pure.

    Every rendition already has its own encoder thread, so on a small machine one
    x264 thread each is enough; x264's own default (1.5 threads per core, per
    encoder) oversubscribes the cores several times over when an orchestrator runs
    a ladder, let alone several segments at once, and each extra frame thread
    costs CPU time and bitrate efficiency.
    """
    return max(1, cpus // max(1, renditions * jobs))
