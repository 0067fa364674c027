"""Cut a source video into keyframe-aligned segments, by stream copy.

Segments are what the gateway sends to orchestrators, so each must decode alone:
it starts on a video keyframe and carries its own headers. They are Matroska files
holding the source's packets untouched (no re-encode: no quality loss, and cutting a
one-hour film takes seconds) with the source's timestamps, so segment k starts at its
true time and the renditions made from it continue each other's timeline.

A segment ends at the first keyframe at or after `target_duration` from its start,
so a source with a keyframe every 10 s gives 10 s segments. A source whose keyframes
are too sparse (a segment would exceed 4x the target, e.g. one keyframe in a long
clip) is first re-encoded with a keyframe every `target_duration` (see `keyframes`).

Audio packets go to the segment whose time range holds their timestamp; together the
segments hold every packet of the source exactly once.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from framemesh.media.errors import InvalidMediaError, TranscodeError
from framemesh.media.keyframes import reencode_with_keyframes
from framemesh.media.probe import probe

# A segment longer than this many targets means the keyframes are too sparse.
SPARSE_FACTOR = 4.0
# Keyframes this close to the target still end a segment (timestamp rounding).
_CUT_SLACK = 0.01
# How far (seconds) demuxing may run past a segment's end before it is closed:
# covers packets of the other stream that a muxer interleaved late.
_INTERLEAVE_WINDOW = 5.0


@dataclass(frozen=True)
class SegmentInfo:
    """One segment: `start` is in the source timeline, both in seconds."""

    index: int
    path: Path
    start: float
    duration: float


def plan_cuts(keyframes: Sequence[float], target_duration: float) -> list[float]:
    """Segment start times: the first keyframe, then each first keyframe at or after
    `target_duration` past the previous cut. Pure; `keyframes` sorted ascending."""
    if target_duration <= 0:
        raise ValueError(f"target_duration must be positive (got {target_duration})")
    cuts: list[float] = []
    for t in keyframes:
        if not cuts or t >= cuts[-1] + target_duration - _CUT_SLACK:
            cuts.append(t)
    return cuts


def split_segments(source: Path, out_dir: Path, target_duration: float = 2.0) -> list[SegmentInfo]:
    """Cut `source` into Matroska segments under `out_dir` (seg_00000.mkv, ...).

    Raises InvalidMediaError if `source` is not a usable video, TranscodeError if
    writing fails.
    """
    source, out_dir = Path(source), Path(out_dir)
    probe(source)  # refuse bad input with a clear message before writing anything
    out_dir.mkdir(parents=True, exist_ok=True)
    keyframes, end = _keyframe_times(source)
    cuts = plan_cuts(keyframes, target_duration)
    bounds = [*cuts[1:], end]
    if max(b - c for c, b in zip(cuts, bounds)) <= SPARSE_FACTOR * target_duration:
        return _copy_segments(source, out_dir, cuts, end)
    keyed = out_dir / ".keyframed.mkv"
    try:
        reencode_with_keyframes(source, keyed, target_duration)
        keyframes, end = _keyframe_times(keyed)
        return _copy_segments(keyed, out_dir, plan_cuts(keyframes, target_duration), end)
    finally:
        keyed.unlink(missing_ok=True)


def _keyframe_times(path: Path) -> tuple[list[float], float]:
    """Sorted video keyframe times and the end of the last video frame, in seconds."""
    keyframes: list[float] = []
    end = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        frame_time = 1 / float(rate) if rate else 0.0
        for packet in container.demux(stream):
            t = _time(packet)
            if t is None:
                continue
            if packet.is_keyframe:
                keyframes.append(t)
            length = float(packet.duration * packet.time_base) if packet.duration else frame_time
            end = max(end, t + length)
    if not keyframes:
        raise InvalidMediaError(f"{path.name}: the video has no keyframe to start a segment on")
    return sorted(keyframes), end


def _time(packet: av.Packet) -> float | None:
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.size == 0 or packet.time_base is None:
        return None
    return float(ts * packet.time_base)


class _Writer:
    """One open segment file with an output stream per copied input stream."""

    def __init__(self, path: Path, inputs: Sequence[av.stream.Stream]) -> None:
        self.path = path
        # keep source timestamps as they are: no shift to make them start at zero
        self.container = av.open(str(path), "w", format="matroska", container_options={"avoid_negative_ts": "disabled"})
        self.streams = {s.index: self.container.add_stream_from_template(s) for s in inputs}

    def mux(self, packet: av.Packet) -> None:
        packet.stream = self.streams[packet.stream.index]
        self.container.mux(packet)

    def close(self) -> None:
        self.container.close()


def _copy_segments(source: Path, out_dir: Path, cuts: list[float], end: float) -> list[SegmentInfo]:
    """Route every packet to its segment and write them.

    Video goes by decode order: a packet belongs to the segment of the last cut
    keyframe demuxed before it, so frames that depend on a keyframe stay with it even
    when they display earlier (open GOPs). Packets before the first keyframe cannot
    be decoded by anyone and are dropped. Audio goes by its timestamp.
    """
    writers: dict[int, _Writer] = {}
    closed: set[int] = set()
    starts = {t: i for i, t in enumerate(cuts)}
    video_segment = -1
    try:
        with av.open(str(source)) as container:
            vstream = container.streams.video[0]
            inputs = [vstream, *container.streams.audio[:1]]
            for packet in container.demux(inputs):
                t = _time(packet)
                if t is None:
                    continue
                if packet.stream is vstream:
                    if packet.is_keyframe and t in starts:
                        video_segment = starts[t]
                    if video_segment < 0:
                        continue
                    k = video_segment
                else:
                    k = max(0, bisect.bisect_right(cuts, t) - 1)
                while k in closed and k + 1 < len(cuts):
                    k += 1  # a straggler whose segment is already closed: the next takes it
                if k not in writers:
                    writers[k] = _Writer(out_dir / f"seg_{k:05d}.mkv", inputs)
                writers[k].mux(packet)
                for j in [j for j in writers if j + 1 < len(cuts) and cuts[j + 1] + _INTERLEAVE_WINDOW < t]:
                    writers.pop(j).close()
                    closed.add(j)
    except av.error.FFmpegError as exc:
        raise TranscodeError(f"could not write segments of {source.name}: {exc}") from exc
    finally:
        for writer in writers.values():
            writer.close()
    bounds = [*cuts[1:], end]
    return [
        SegmentInfo(index=k, path=out_dir / f"seg_{k:05d}.mkv", start=c, duration=b - c)
        for k, (c, b) in enumerate(zip(cuts, bounds))
    ]
