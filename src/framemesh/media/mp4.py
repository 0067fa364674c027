"""Just enough ISO-BMFF (MP4) reading for HLS: where the boxes are, and the RFC 6381
codec strings of the streams inside.

`read_boxes` reads only the 8/16-byte box headers (it seeks over payloads), so
finding the media part of a large fragmented MP4 costs a few reads. The parsers of
bytes are pure.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass(frozen=True)
class Box:
    """A top-level box: its four-character type, where it starts and how long it is."""

    type: str
    offset: int
    size: int


class BoxError(ValueError):
    """The bytes are not a well-formed sequence of MP4 boxes."""


def read_boxes(path: Path) -> list[Box]:
    """The top-level boxes of the file at `path`, in order."""
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        return _walk(f, size)


def _walk(f: BinaryIO, end: int) -> list[Box]:
    boxes: list[Box] = []
    offset = 0
    while offset < end:
        f.seek(offset)
        header = f.read(8)
        if len(header) < 8:
            raise BoxError(f"truncated box header at byte {offset}")
        length, kind = struct.unpack(">I4s", header)
        if length == 1:
            large = f.read(8)
            if len(large) < 8:
                raise BoxError(f"truncated 64-bit box size at byte {offset}")
            (length,) = struct.unpack(">Q", large)
        elif length == 0:
            length = end - offset  # runs to the end of the file
        if length < 8 or offset + length > end:
            raise BoxError(f"box {kind!r} at byte {offset} claims {length} bytes; the file ends at {end}")
        boxes.append(Box(kind.decode("latin-1"), offset, length))
        offset += length
    return boxes


def avc_codec(init: bytes) -> str | None:
    """"avc1.PPCCLL" from the avcC box in an init segment (profile, constraints, level)."""
    at = init.find(b"avcC")
    if at < 0 or len(init) < at + 8:
        return None
    _version, profile, constraints, level = init[at + 4 : at + 8]
    return f"avc1.{profile:02x}{constraints:02x}{level:02x}"


def audio_codec(init: bytes) -> str | None:
    """"mp4a.40.2" if the init segment holds an AAC track: our encoder makes AAC-LC,
    the one profile every HLS player takes."""
    return "mp4a.40.2" if b"mp4a" in init else None
