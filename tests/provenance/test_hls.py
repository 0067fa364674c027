"""Signed fragmented MP4 segments in an HLS ladder: where the manifest goes, what it
shifts, and that the byte ranges the gateway writes still play and still verify."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from framemesh.media.hls import LadderSegment, write_ladder
from framemesh.media.mp4 import read_boxes
from framemesh.provenance import read_provenance, sign_file

from .media import count_frames
from .test_sign import transcoded


@pytest.fixture(scope="module")
def signed_segment(media, identity, tmp_path_factory) -> Path:
    return sign_file(media["fmp4"], tmp_path_factory.mktemp("seg") / "144p.mp4", identity, transcoded(media["mp4"]))


def tfra_offsets(path: Path) -> list[int]:
    """The moof offsets the trailing mfra/tfra box records (absolute file offsets)."""
    data = path.read_bytes()
    mfra = next(b for b in read_boxes(path) if b.type == "mfra")
    at = data.index(b"tfra", mfra.offset)
    version = data[at + 4]
    count = struct.unpack(">I", data[at + 16 : at + 20])[0]
    sizes = data[at + 15]  # length_size_of_traf_num, trun_num, sample_num: 2 bits each
    extra = 3 + ((sizes >> 4) & 3) + ((sizes >> 2) & 3) + (sizes & 3)
    offsets, pos = [], at + 20
    for _ in range(count):
        if version == 1:
            offsets.append(struct.unpack(">Q", data[pos + 8 : pos + 16])[0])
            pos += 16 + extra
        else:
            offsets.append(struct.unpack(">I", data[pos + 4 : pos + 8])[0])
            pos += 8 + extra
    return offsets


def test_manifest_goes_after_ftyp_and_shifts_the_fragments(media, signed_segment) -> None:
    before = read_boxes(media["fmp4"])
    after = read_boxes(signed_segment)
    assert [b.type for b in after] == ["ftyp", "uuid", *[b.type for b in before[1:]]]
    uuid = after[1]
    shift = {b.type: a.offset - b.offset for b, a in zip(before[1:], after[2:], strict=True)}
    assert set(shift.values()) == {uuid.size}  # moov, every moof/mdat, mfra: all moved by the manifest's size
    # the random-access index was rewritten to the new offsets: each points at a moof
    data = signed_segment.read_bytes()
    offsets = tfra_offsets(signed_segment)
    assert offsets and all(data[o + 4 : o + 8] == b"moof" for o in offsets)
    assert tfra_offsets(media["fmp4"]) == [o - uuid.size for o in offsets]


def test_ladder_byte_ranges_of_a_signed_segment_play_and_the_file_verifies(signed_segment, ca_pem, tmp_path) -> None:
    master = write_ladder(tmp_path / "ladder", {"144p": [LadderSegment(signed_segment, 2.0, 256, 144, 200_000, 15.0)]})
    playlist = (tmp_path / "ladder" / "144p" / "index.m3u8").read_text()
    first_moof = next(b for b in read_boxes(signed_segment) if b.type == "moof").offset
    size = signed_segment.stat().st_size
    init = re.search(r'#EXT-X-MAP:URI="seg_00000.mp4",BYTERANGE="(\d+)@0"', playlist)
    part = re.search(r"#EXT-X-BYTERANGE:(\d+)@(\d+)", playlist)
    assert init and part
    assert int(init.group(1)) == first_moof  # the init section holds ftyp, the manifest and moov
    assert (int(part.group(1)), int(part.group(2))) == (size - first_moof, first_moof)
    assert count_frames(master) == 30  # FFmpeg's HLS demuxer follows the byte ranges
    placed = tmp_path / "ladder" / "144p" / "seg_00000.mp4"
    assert placed.read_bytes() == signed_segment.read_bytes()
    assert read_provenance(placed, trust_anchors=[ca_pem]).status == "valid"


def test_a_byte_range_alone_does_not_verify(signed_segment, ca_pem, tmp_path) -> None:
    """The manifest hashes the whole file: a viewer verifies the segment file, not the
    init section or a fragment on its own."""
    first_moof = next(b for b in read_boxes(signed_segment) if b.type == "moof").offset
    init_only = tmp_path / "init.mp4"
    init_only.write_bytes(signed_segment.read_bytes()[:first_moof])
    verdict = read_provenance(init_only, trust_anchors=[ca_pem])
    assert verdict.status != "valid" and verdict.problems
