"""Cut a live stream into keyframe-aligned segments as its packets arrive, by stream copy.

The live twin of `segment`: the same Matroska segments holding the source's packets
untouched with the source's timestamps, so renditions that different orchestrators
make of consecutive segments continue each other's timeline. A segment is closed, and
handed on, the moment the first keyframe at or after `target_duration` past its start
arrives: a segment is out one frame after its last frame came in.

Video decides the cuts; audio goes to the segment open when it arrives (a live
source interleaves by time). Packets before the first keyframe cannot be decoded
alone and are dropped. A source whose keyframes are further apart than
`max_duration` is refused (`SparseKeyframes`): a live segment cannot wait for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av

from framemesh.media.errors import InvalidMediaError

_CUT_SLACK = 0.01  # keyframes this close to the target still end a segment (rounding)


class SparseKeyframes(InvalidMediaError):
    """The source's keyframes are too far apart to cut live segments."""


@dataclass(frozen=True)
class LiveSegment:
    """One finished segment: `start` on the source's timeline, seconds."""

    index: int  # counts segments of this segmenter from 0
    path: Path
    start: float
    duration: float


class LiveSegmenter:
    """Feed it demuxed packets in arrival order; it returns each segment as it closes."""

    def __init__(
        self,
        out_dir: Path,
        inputs: Sequence[av.stream.Stream],
        *,
        target_duration: float = 2.0,
        max_duration: float = 10.0,
        name: str = "seg",
    ) -> None:
        if target_duration <= 0 or max_duration < target_duration:
            raise ValueError("target_duration must be positive and at most max_duration")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.inputs = list(inputs)
        self.video = next((s for s in self.inputs if s.type == "video"), None)
        if self.video is None:
            raise InvalidMediaError("the stream has no video")
        self.target = target_duration
        self.max = max_duration
        self.name = name
        self.count = 0
        self._container: av.container.OutputContainer | None = None
        self._streams: dict[int, av.stream.Stream] = {}
        self._start = 0.0
        self._last_video = 0.0  # the latest video timestamp seen, seconds
        self._frame = 0.0  # the latest video packet's duration, seconds

    @property
    def open_since(self) -> float | None:
        """The source time the open segment starts at, or None when none is open."""
        return self._start if self._container is not None else None

    def feed(self, packet: av.Packet) -> list[LiveSegment]:
        """Route one packet; returns the segment it closed, if it closed one."""
        t = _time(packet)
        if t is None:
            return []
        done: list[LiveSegment] = []
        if packet.stream.index == self.video.index:
            if self._container is not None and t - self._start > self.max + _CUT_SLACK:
                raise SparseKeyframes(
                    f"no keyframe for {t - self._start:.1f} s: send a keyframe at least every "
                    f"{self.max:g} s (a GOP of 2 s suits live streams)"
                )
            if packet.is_keyframe and (self._container is None or t >= self._start + self.target - _CUT_SLACK):
                if self._container is not None:
                    done.append(self._close(t))
                self._open(t)
            if self._container is None:
                return done  # before the first keyframe: nothing can decode it
            self._last_video = max(self._last_video, t)
            if packet.duration:
                self._frame = float(packet.duration * packet.time_base)
        elif self._container is None:
            return done
        packet.stream = self._streams[packet.stream.index]
        self._container.mux(packet)
        return done

    def finish(self) -> LiveSegment | None:
        """The source ended: close the open segment (its end is its last frame's)."""
        if self._container is None:
            return None
        return self._close(self._last_video + (self._frame or 1 / 30))

    def _open(self, start: float) -> None:
        path = self.out_dir / f"{self.name}_{self.count:05d}.mkv"
        # keep source timestamps as they are: no shift to make them start at zero
        self._container = av.open(str(path), "w", format="matroska", container_options={"avoid_negative_ts": "disabled"})
        self._streams = {s.index: self._container.add_stream_from_template(s) for s in self.inputs}
        self._start = start
        self._path = path

    def _close(self, end: float) -> LiveSegment:
        assert self._container is not None  # only called with a segment open
        self._container.close()
        self._container = None
        segment = LiveSegment(self.count, self._path, self._start, max(end - self._start, 1e-3))
        self.count += 1
        return segment

    def abort(self) -> None:
        """Drop the open segment (the source failed mid-segment)."""
        if self._container is not None:
            self._container.close()
            self._container = None
            self._path.unlink(missing_ok=True)


def _time(packet: av.Packet) -> float | None:
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.size == 0 or packet.time_base is None:
        return None
    return float(ts * packet.time_base)
