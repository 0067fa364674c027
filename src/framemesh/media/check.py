"""Check that a rendition really is the source segment at another size.

A gateway cannot trust an orchestrator's output blindly: it may be truncated, the
wrong size, from another segment, or not the source at all. `check_rendition`
decodes the rendition and checks, naming every problem it finds:

- it decodes, at the spec's width and height;
- it covers the source segment's time: same start (timestamps are absolute) and
  duration, and the frame count that `spec.fps` gives over it (+- 2 frames);
- its pictures are the source's: a few frames evenly spread over the rendition are
  compared, by luma PSNR, with the source frame shown at the same time (and its
  neighbours on either side, taking the best: a frame's timing may be off by one
  where the source's clock jumps, as at a live encoder's hiccup), scaled down to
  the rendition's size. Every sample must reach `PSNR_THRESHOLD`.

`check_renditions` checks a whole ladder of one segment, reading the source once
and decoding in full only the source frames the samples are compared with (other
frames only when those refer to them). Both are top-level and picklable: gateways
run them in an executor.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np
from av.video.reformatter import Interpolation

from framemesh.media.errors import InvalidMediaError
from framemesh.media.profiles import RenditionSpec
from framemesh.media.psnr import psnr
from framemesh.media.transcode import frame_slots

# Lowest luma PSNR (dB) a sampled frame may have. Renditions of our (deliberately hard
# to encode) test clips score 23-39 dB, the worst being 240p at 250 kbit/s with the
# ultrafast preset; another clip, another segment, black or shifted frames 5-13 dB.
PSNR_THRESHOLD = 18.0
SAMPLES = 5
FRAME_SLACK = 2


@dataclass(frozen=True)
class CheckReport:
    """What `check_rendition` found. `psnr` is the worst sampled frame's, in dB."""

    ok: bool
    problems: tuple[str, ...]
    psnr: float | None
    width: int
    height: int
    duration: float
    frames: int


@dataclass(frozen=True)
class _Decoded:
    times: list[float]
    width: int
    height: int
    samples: dict[int, np.ndarray]  # frame index -> luma


def check_rendition(source_segment: Path, rendition: Path, spec: RenditionSpec) -> CheckReport:
    """Compare `rendition` with `source_segment` under `spec`; never raises for a bad
    rendition (the report says why), raises InvalidMediaError for a bad source."""
    return check_renditions(source_segment, [(rendition, spec)])[0]


def check_renditions(
    source_segment: Path, renditions: Sequence[tuple[Path, RenditionSpec]]
) -> list[CheckReport]:
    """`check_rendition` for several renditions of one segment, reading the source
    only once and decoding only the source frames the samples need (the costly part
    at 1080p). One report per rendition, in order."""
    source = Path(source_segment)
    try:
        container = av.open(str(source))
    except (av.error.FFmpegError, OSError) as exc:
        raise InvalidMediaError(f"{source.name}: the source segment does not open ({exc})") from exc
    with container:
        stream, packets = _source_packets(source, container)
        span = _source_span(source, stream, packets)
        parts = [_inspect(Path(path), spec, span) for path, spec in renditions]
        times = {t for part in parts if isinstance(part, _Partial) for t in part.wanted.values()}
        shown = _source_frames(source, stream, packets, times)
    return [part if isinstance(part, CheckReport) else _judge(part, shown) for part in parts]


@dataclass(frozen=True)
class _Partial:
    """A rendition that decoded: its timing problems so far, and the source times
    (frame index -> seconds) its sampled pictures must be compared with."""

    decoded: _Decoded
    problems: tuple[str, ...]
    duration: float
    wanted: dict[int, float]


def _inspect(rendition: Path, spec: RenditionSpec, span: tuple[float, float]) -> _Partial | CheckReport:
    try:
        rend = _decode(rendition)
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        return CheckReport(False, (f"the rendition does not decode: {exc}",), None, 0, 0, 0.0, 0)
    if not rend.times:
        return CheckReport(False, ("the rendition holds no video frame",), None, rend.width, rend.height, 0.0, 0)
    frame_time = 1 / spec.fps
    start, end = rend.times[0], rend.times[-1] + frame_time
    src_start, src_end = span
    problems: list[str] = []
    if (rend.width, rend.height) != (spec.width, spec.height):
        problems.append(f"size is {rend.width}x{rend.height}, expected {spec.width}x{spec.height}")
    expected = len(frame_slots(src_start, src_end, spec.fps))
    if abs(len(rend.times) - expected) > FRAME_SLACK:
        problems.append(f"{len(rend.times)} frames, expected {expected} ({spec.fps} fps over {src_end - src_start:.2f} s)")
    if abs((end - start) - (src_end - src_start)) > max(0.1, 2 * frame_time):
        problems.append(f"lasts {end - start:.3f} s, the source segment {src_end - src_start:.3f} s")
    if abs(start - src_start) > 1.5 * frame_time:
        problems.append(f"starts at {start:.3f} s, the source segment at {src_start:.3f} s (another segment?)")
    # compare pictures at the same offset into the segment, so a mistimed rendition is
    # still judged on its pictures too
    wanted = {i: src_start + (rend.times[i] - start) for i in rend.samples}
    return _Partial(rend, tuple(problems), end - start, wanted)


def _judge(part: _Partial, shown: dict[float, list[av.VideoFrame]]) -> CheckReport:
    rend = part.decoded
    scores = [
        max(psnr(_scaled_luma(frame, rend.width, rend.height), rend.samples[i]) for frame in shown[t])
        for i, t in sorted(part.wanted.items())
        if shown.get(t)
    ]
    worst = min(scores) if scores else None
    problems = list(part.problems)
    if worst is None:
        problems.append("no frame could be compared with the source")
    elif worst < PSNR_THRESHOLD:
        problems.append(
            f"picture differs from the source: worst sampled frame {worst:.1f} dB PSNR (need {PSNR_THRESHOLD:.0f} dB)"
        )
    return CheckReport(
        ok=not problems,
        problems=tuple(problems),
        psnr=worst,
        width=rend.width,
        height=rend.height,
        duration=part.duration,
        frames=len(rend.times),
    )


def _luma(frame: av.VideoFrame) -> np.ndarray:
    """The Y plane as a (height, width) uint8 array (line padding dropped)."""
    if frame.format.name not in ("yuv420p", "yuvj420p", "gray"):
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(frame.height, plane.line_size)
    return rows[:, : frame.width].copy()


def _decode(path: Path) -> _Decoded:
    """Decode every frame (the last sample is the last frame, and each frame needs the
    ones before it), keeping the luma of `SAMPLES` frames spread over the rendition."""
    times: list[float] = []
    samples: dict[int, np.ndarray] = {}
    width = height = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]  # one read: count, then decode
        count = len(packets)
        keep = {round(i * (count - 1) / max(1, SAMPLES - 1)) for i in range(SAMPLES)} if count else set()
        for frame in _frames(stream.codec_context, packets):
            if len(times) in keep:
                samples[len(times)] = _luma(frame)
            width, height = frame.width, frame.height
            times.append(float(frame.time) if frame.time is not None else len(times) / 30)
    return _Decoded(times, width, height, samples)


def _frames(ctx: av.VideoCodecContext, packets: list[av.Packet]) -> Iterator[av.VideoFrame]:
    for packet in [*packets, None]:
        for frame in ctx.decode(packet):
            if isinstance(frame, av.VideoFrame):
                yield frame


def _source_packets(path: Path, container: av.container.InputContainer) -> tuple[av.VideoStream, list[av.Packet]]:
    """The source's video stream and its timestamped packets, in decode order."""
    try:
        stream = container.streams.video[0]
        return stream, [p for p in container.demux(stream) if p.size and p.pts is not None]
    except (av.error.FFmpegError, IndexError) as exc:
        raise InvalidMediaError(f"{path.name}: the source segment does not open ({exc})") from exc


def _source_span(path: Path, stream: av.VideoStream, packets: list[av.Packet]) -> tuple[float, float]:
    """Start and end (seconds) of the source segment's video."""
    if not packets:
        raise InvalidMediaError(f"{path.name}: the source segment holds no video")
    rate = stream.average_rate or stream.guessed_rate
    frame_time = 1 / float(rate) if rate else 1 / 30
    times = [t for t, _ in _stamps(packets)]
    return min(times), max(times) + frame_time


def _stamps(packets: list[av.Packet]) -> list[tuple[float, int]]:
    """(seconds, pts) of each packet, sorted by time: the frames in display order."""
    return sorted((float(p.pts * p.time_base), p.pts) for p in packets if p.pts is not None and p.time_base)


def _source_frames(
    path: Path, stream: av.VideoStream, packets: list[av.Packet], times: set[float]
) -> dict[float, list[av.VideoFrame]]:
    """For each time, the source frame shown then (the first frame for earlier times)
    and the frames just before and after it in display order.

    The packets' timestamps say which frames those are, so only they are decoded in
    full: any other frame is decoded only if later frames refer to it (FFmpeg's
    `skip_frame=NONREF` for its packet), and decoding stops once all were seen.
    """
    if not times:
        return {}
    stamps = _stamps(packets)
    seconds = [t for t, _ in stamps]
    near: dict[float, list[int]] = {}
    for at in times:
        k = max(0, bisect.bisect_right(seconds, at + 1e-3) - 1)
        near[at] = [stamps[j][1] for j in (k, k - 1, k + 1) if 0 <= j < len(stamps)]
    wanted = {p for pts in near.values() for p in pts}
    found: dict[int, av.VideoFrame] = {}
    ctx = stream.codec_context
    ctx.thread_type = "AUTO"
    try:
        for packet in [*packets, None]:
            ctx.skip_frame = "DEFAULT" if packet is None or packet.pts in wanted else "NONREF"
            for frame in ctx.decode(packet):
                if isinstance(frame, av.VideoFrame) and frame.pts in wanted:
                    found[frame.pts] = frame
            if len(found) == len(wanted):
                break
    except av.error.FFmpegError as exc:
        raise InvalidMediaError(f"{path.name}: the source segment does not decode ({exc})") from exc
    return {at: [found[p] for p in pts if p in found] for at, pts in near.items()}


def _scaled_luma(frame: av.VideoFrame, width: int, height: int) -> np.ndarray:
    """The source picture at the rendition's size, as x264 input would have been."""
    scaled = frame.reformat(width=width, height=height, format="yuv420p", interpolation=Interpolation.BICUBIC)
    return _luma(scaled)
