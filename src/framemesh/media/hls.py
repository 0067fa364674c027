"""Assemble transcoded segments into an HLS ladder of fragmented MP4 (CMAF-style).

Layout: `out_dir/master.m3u8`, and per rendition `out_dir/<name>/index.m3u8` next to
that rendition's segment files `seg_00000.mp4`, `seg_00001.mp4`, ...

Each segment file is the orchestrator's own self-contained fMP4 (ftyp, moov, then
moof+mdat fragments), referenced **as is** with byte ranges rather than split into a
shared init segment and .m4s pieces:

    #EXT-X-MAP:URI="seg_00003.mp4",BYTERANGE="<moov end>@0"   (its own init section)
    #EXT-X-BYTERANGE:<rest>@<first moof>                       (its media)
    seg_00003.mp4

Why: the file a viewer fetches is byte for byte the file the orchestrator made, so a
C2PA manifest it signed (and any box we do not know) stays valid and checkable, and
assembling is a link or copy, never a re-mux. The cost is one small init section
(about 1 kB) fetched per segment instead of once; players cache identical maps.
Every segment starts with a keyframe and carries absolute timestamps (see
`transcode`), so `#EXT-X-INDEPENDENT-SEGMENTS` holds and a discontinuity tag is
written only where the timeline really jumps (a live encoder that reconnected, a
live segment skipped). Only standard tags are written (RFC 8216, version 7), which
hls.js, Safari and FFmpeg all read. A live media playlist is the same list cut to a
sliding window, with its media and discontinuity sequence numbers, and no ENDLIST
until the stream ends.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from framemesh.media.errors import TranscodeError
from framemesh.media.mp4 import BoxError, audio_codec, avc_codec, read_boxes

MASTER = "master.m3u8"
MEDIA = "index.m3u8"


@dataclass(frozen=True)
class LadderSegment:
    """Rendition output for segment k. `bandwidth` is the nominal bits/s (video + audio);
    the playlist states the measured peak if that is higher."""

    path: Path
    duration: float
    width: int
    height: int
    bandwidth: int = 0
    fps: float = 30.0
    discontinuity: bool = False  # the timeline jumps before this segment


@dataclass(frozen=True)
class Placed:
    """A segment file in a rendition's folder, with its init and media byte ranges."""

    name: str
    duration: float
    init_size: int
    media_size: int
    discontinuity: bool = False


def write_ladder(out_dir: Path, ladder: Mapping[str, Sequence[LadderSegment]]) -> Path:
    """Write the ladder under `out_dir` and return the master playlist's path.

    `ladder` maps a rendition name (a directory name, e.g. "720p") to its segments in
    timeline order. Raises TranscodeError for an empty ladder, a missing file, or a
    file that is not a fragmented MP4.
    """
    out_dir = Path(out_dir)
    if not ladder or not all(ladder.values()):
        raise TranscodeError("the ladder is empty: give each rendition at least one segment")
    for name in ladder:
        if not name or name in (".", "..") or "/" in name or "\\" in name:
            raise TranscodeError(f"rendition name {name!r} cannot be a directory name")
    out_dir.mkdir(parents=True, exist_ok=True)
    variants: list[str] = []
    for name, segments in ladder.items():
        placed = [place_segment(seg.path, out_dir / name, f"seg_{k:05d}.mp4", seg.duration, seg.discontinuity)
                  for k, seg in enumerate(segments)]
        (out_dir / name / MEDIA).write_text(media_playlist(placed))
        variants.append(_variant(name, segments, placed, out_dir / name))
    master = out_dir / MASTER
    master.write_text("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n" + "".join(variants))
    return master


def place_segment(source: Path, dest_dir: Path, name: str, duration: float, discontinuity: bool = False) -> Placed:
    """Link (or copy) a rendition's segment file into `dest_dir` as `name` and find its
    init and media ranges. Raises TranscodeError for a missing or non-fragmented file."""
    source = Path(source)
    if not source.is_file():
        raise TranscodeError(f"segment file {source} is missing; transcode the segment again")
    try:
        boxes = read_boxes(source)
    except BoxError as exc:
        raise TranscodeError(f"{source.name} is not an MP4 file ({exc})") from exc
    moofs = [b for b in boxes if b.type == "moof"]
    if not moofs or not any(b.type == "moov" for b in boxes[: boxes.index(moofs[0])]):
        raise TranscodeError(f"{source.name} is not a fragmented MP4 (needs moov before moof); use transcode_segment")
    dest_dir.mkdir(parents=True, exist_ok=True)
    _link_or_copy(source, dest_dir / name)
    size = source.stat().st_size
    return Placed(name, duration, moofs[0].offset, size - moofs[0].offset, discontinuity)


def _link_or_copy(source: Path, dest: Path) -> None:
    if source.resolve() == dest.resolve():
        return
    dest.unlink(missing_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


def media_playlist(
    segments: Sequence[Placed], *, live: bool = False, media_sequence: int = 0, discontinuity_sequence: int = 0,
    ended: bool = True, target: int | None = None,
) -> str:
    """One rendition's media playlist. Pure. VOD by default; `live`: a window of a
    stream whose first entry is segment `media_sequence`, with `discontinuity_sequence`
    discontinuities before it, ENDLIST only once `ended`."""
    if target is None:
        target = max(1, math.ceil(max((s.duration for s in segments), default=1.0) - 1e-6))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}",
    ]
    if live:
        if discontinuity_sequence:
            lines.append(f"#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuity_sequence}")
    else:
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    lines.append("#EXT-X-INDEPENDENT-SEGMENTS")
    for s in segments:
        if s.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [
            f'#EXT-X-MAP:URI="{s.name}",BYTERANGE="{s.init_size}@0"',
            f"#EXTINF:{s.duration:.6f},",
            f"#EXT-X-BYTERANGE:{s.media_size}@{s.init_size}",
            s.name,
        ]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def variant_attributes(width: int, height: int, fps: float, peak: float, average: float, init: bytes) -> str:
    """The #EXT-X-STREAM-INF attributes of a rendition (codecs read from its init section)."""
    codecs = [c for c in (avc_codec(init), audio_codec(init)) if c]
    attrs = [
        f"BANDWIDTH={math.ceil(peak)}",
        f"AVERAGE-BANDWIDTH={math.ceil(average)}",
        f"RESOLUTION={width}x{height}",
        f"FRAME-RATE={fps:.3f}",
    ]
    if codecs:
        attrs.append(f'CODECS="{",".join(codecs)}"')
    return ",".join(attrs)


def _variant(name: str, segments: Sequence[LadderSegment], placed: Sequence[Placed], folder: Path) -> str:
    """The master playlist's #EXT-X-STREAM-INF entry for one rendition."""
    rates = [p.media_size * 8 / p.duration for p in placed if p.duration > 0]
    total = sum(p.duration for p in placed)
    peak = max([*rates, *(s.bandwidth for s in segments)])
    average = sum(p.media_size for p in placed) * 8 / total if total > 0 else peak
    with open(folder / placed[0].name, "rb") as f:
        init = f.read(placed[0].init_size)
    first = segments[0]
    return f"#EXT-X-STREAM-INF:{variant_attributes(first.width, first.height, first.fps, peak, average, init)}\n{name}/{MEDIA}\n"
