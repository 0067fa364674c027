"""A live stream's HLS playlists: a sliding window of its newest segments. Pure.

Segments enter in order, every rendition at once; the window keeps the newest
`size` and counts what slid out (`EXT-X-MEDIA-SEQUENCE`, and the discontinuities
among them, `EXT-X-DISCONTINUITY-SEQUENCE`), so a player that reloads the playlist
always knows where it is. A segment is marked discontinuous only where the timeline
really jumps: after a skipped segment, or when the encoder reconnected. Each entry
carries the wall-clock time its first frame reached the gateway
(`EXT-X-PROGRAM-DATE-TIME`), from which a player measures glass-to-glass latency.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

from framemesh.media.hls import MEDIA, Placed, media_playlist, variant_attributes


@dataclass(frozen=True)
class Rendition:
    """A rendition of the stream, for the master playlist."""

    name: str
    width: int
    height: int
    fps: float
    bandwidth: int  # nominal bits per second, video and audio
    init: bytes = b""  # its first segment's init section (codecs are read from it)


@dataclass(frozen=True)
class Entry:
    seq: int
    duration: float
    discontinuity: bool
    first_frame_at: float  # epoch seconds
    files: dict[str, Placed] = field(default_factory=dict)  # rendition → its segment file


class LiveWindow:
    def __init__(self, size: int = 6, target_duration: float = 2.0) -> None:
        if size < 3:
            raise ValueError("a live window holds at least 3 segments (players start 3 from the end)")
        self.size = size
        self.target = target_duration
        self.entries: deque[Entry] = deque()
        self.media_sequence = 0  # seq of the oldest entry listed (the next one's, while empty)
        self.discontinuity_sequence = 0
        self.ended = False
        self.renditions: dict[str, Rendition] = {}
        self._longest = target_duration

    def add(self, entry: Entry) -> None:
        """List the next segment (sequence numbers only grow)."""
        if self.ended:
            raise ValueError("the stream has ended: nothing more is listed")
        if self.entries and entry.seq <= self.entries[-1].seq:
            raise ValueError(f"segment {entry.seq} comes after {self.entries[-1].seq}")
        if not self.entries:
            self.media_sequence = entry.seq
        self.entries.append(entry)
        self._longest = max(self._longest, entry.duration)
        while len(self.entries) > self.size:
            gone = self.entries.popleft()
            self.media_sequence = self.entries[0].seq
            if gone.discontinuity:  # its tag leaves the list with it: count it
                self.discontinuity_sequence += 1

    def end(self) -> None:
        self.ended = True

    def media(self, rendition: str) -> str:
        """One rendition's live media playlist."""
        listed = [
            (e.files[rendition], e.first_frame_at) for e in self.entries if rendition in e.files
        ]
        placed = [p for p, _ in listed]
        text = media_playlist(
            placed, live=True, media_sequence=self.media_sequence, discontinuity_sequence=self.discontinuity_sequence,
            ended=self.ended, target=max(1, math.ceil(self._longest - 1e-6)),
        )
        return _with_program_times(text, [p.name for p in placed], [t for _, t in listed])

    def master(self) -> str:
        lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
        for r in self.renditions.values():
            attrs = variant_attributes(r.width, r.height, r.fps, r.bandwidth, r.bandwidth, r.init)
            lines += [f"#EXT-X-STREAM-INF:{attrs}", f"{r.name}/{MEDIA}"]
        return "\n".join(lines) + "\n"


def _with_program_times(text: str, names: list[str], times: list[float]) -> str:
    """Put each segment's #EXT-X-PROGRAM-DATE-TIME before its #EXT-X-MAP."""
    when = dict(zip(names, times))
    lines = text.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("#EXT-X-MAP:"):
            name = line.split('URI="', 1)[1].split('"', 1)[0]
            if name in when:
                stamp = datetime.fromtimestamp(when[name], timezone.utc).isoformat(timespec="milliseconds")
                out.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp.replace('+00:00', 'Z')}")
        out.append(line)
    return "\n".join(out) + "\n"
