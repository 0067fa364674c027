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
`transcode`), so `#EXT-X-INDEPENDENT-SEGMENTS` holds and no discontinuity tags are
needed. Only standard tags are written (RFC 8216, version 7), which hls.js, Safari
and FFmpeg all read.
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


@dataclass(frozen=True)
class _Placed:
    """A segment file copied into the ladder, with its init and media byte ranges."""

    name: str
    duration: float
    init_size: int
    media_size: int


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
        placed = [_place(seg, out_dir / name, k) for k, seg in enumerate(segments)]
        (out_dir / name / MEDIA).write_text(media_playlist(placed))
        variants.append(_variant(name, segments, placed, out_dir / name))
    master = out_dir / MASTER
    master.write_text("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n" + "".join(variants))
    return master


def _place(seg: LadderSegment, dest_dir: Path, index: int) -> _Placed:
    source = Path(seg.path)
    if not source.is_file():
        raise TranscodeError(f"segment file {source} is missing; transcode segment {index} again")
    try:
        boxes = read_boxes(source)
    except BoxError as exc:
        raise TranscodeError(f"{source.name} is not an MP4 file ({exc})") from exc
    moofs = [b for b in boxes if b.type == "moof"]
    if not moofs or not any(b.type == "moov" for b in boxes[: boxes.index(moofs[0])]):
        raise TranscodeError(f"{source.name} is not a fragmented MP4 (needs moov before moof); use transcode_segment")
    name = f"seg_{index:05d}.mp4"
    dest_dir.mkdir(parents=True, exist_ok=True)
    _link_or_copy(source, dest_dir / name)
    size = source.stat().st_size
    return _Placed(name, seg.duration, moofs[0].offset, size - moofs[0].offset)


def _link_or_copy(source: Path, dest: Path) -> None:
    if source.resolve() == dest.resolve():
        return
    dest.unlink(missing_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


def media_playlist(segments: Sequence[_Placed]) -> str:
    """The VOD media playlist for one rendition. Pure."""
    target = max(1, math.ceil(max(s.duration for s in segments) - 1e-6))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for s in segments:
        lines += [
            f'#EXT-X-MAP:URI="{s.name}",BYTERANGE="{s.init_size}@0"',
            f"#EXTINF:{s.duration:.6f},",
            f"#EXT-X-BYTERANGE:{s.media_size}@{s.init_size}",
            s.name,
        ]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _variant(name: str, segments: Sequence[LadderSegment], placed: Sequence[_Placed], folder: Path) -> str:
    """The master playlist's #EXT-X-STREAM-INF entry for one rendition."""
    rates = [p.media_size * 8 / p.duration for p in placed if p.duration > 0]
    total = sum(p.duration for p in placed)
    peak = max([*rates, *(s.bandwidth for s in segments)])
    average = sum(p.media_size for p in placed) * 8 / total if total > 0 else peak
    with open(folder / placed[0].name, "rb") as f:
        init = f.read(placed[0].init_size)
    codecs = [c for c in (avc_codec(init), audio_codec(init)) if c]
    first = segments[0]
    attrs = [
        f"BANDWIDTH={math.ceil(peak)}",
        f"AVERAGE-BANDWIDTH={math.ceil(average)}",
        f"RESOLUTION={first.width}x{first.height}",
        f"FRAME-RATE={first.fps:.3f}",
    ]
    if codecs:
        attrs.append(f'CODECS="{",".join(codecs)}"')
    return f"#EXT-X-STREAM-INF:{','.join(attrs)}\n{name}/{MEDIA}\n"
