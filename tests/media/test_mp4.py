"""The little MP4 box reader behind the HLS byte ranges."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from framemesh.media.encoder import RenditionOutput
from framemesh.media.mp4 import Box, BoxError, audio_codec, avc_codec, read_boxes


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def test_reads_top_level_boxes_in_order(tmp_path: Path) -> None:
    data = _box(b"ftyp", b"isom" * 3) + _box(b"moov", b"x" * 100) + _box(b"moof", b"y" * 20) + _box(b"mdat", b"z" * 5)
    path = tmp_path / "a.mp4"
    path.write_bytes(data)
    assert read_boxes(path) == [
        Box("ftyp", 0, 20),
        Box("moov", 20, 108),
        Box("moof", 128, 28),
        Box("mdat", 156, 13),
    ]


def test_64_bit_and_to_end_sizes(tmp_path: Path) -> None:
    large = struct.pack(">I4sQ", 1, b"mdat", 16 + 4) + b"abcd"
    to_end = struct.pack(">I4s", 0, b"free") + b"rest of file"
    path = tmp_path / "b.mp4"
    path.write_bytes(large + to_end)
    assert read_boxes(path) == [Box("mdat", 0, 20), Box("free", 20, 20)]


@pytest.mark.parametrize(
    "data",
    [b"\x00\x00\x00", b"\x00\x00\x00\x04abcd", b"\x00\x00\x01\x00ftypisom", b"\x00\x00\x00\x01mdat\x00"],
)
def test_malformed_boxes_are_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(data)
    with pytest.raises(BoxError):
        read_boxes(path)


def test_codec_strings() -> None:
    assert avc_codec(b"xxxxavcC\x01\x42\xc0\x1e") == "avc1.42c01e"
    assert avc_codec(b"avcC\x01") is None
    assert audio_codec(b"...mp4a...esds") == "mp4a.40.2"
    assert audio_codec(b"no audio") is None


def test_real_rendition_layout(transcoded: list[dict[str, RenditionOutput]]) -> None:
    out = transcoded[0]["240p"]
    boxes = read_boxes(out.path)
    kinds = [b.type for b in boxes]
    assert kinds[:2] == ["ftyp", "moov"]
    assert "moof" in kinds and "mdat" in kinds
    assert sum(b.size for b in boxes) == out.path.stat().st_size
