"""A live stream's playlists: a sliding window with the right sequence numbers,
discontinuities only where they are, program times, and an end."""

from __future__ import annotations

import pytest

from framemesh.gateway.live.playlist import Entry, LiveWindow, Rendition
from framemesh.media.hls import Placed


def entry(seq: int, discontinuity: bool = False) -> Entry:
    return Entry(seq, 2.0, discontinuity, 1_700_000_000.0 + 2 * seq,
                 {"360p": Placed(f"seg_{seq:05d}.mp4", 2.0, 800, 9000, discontinuity)})


def test_the_window_slides_and_counts_what_left() -> None:
    window = LiveWindow(size=3)
    for seq in range(5):
        window.add(entry(seq, discontinuity=seq in (1, 3)))
    text = window.media("360p")
    assert "#EXT-X-MEDIA-SEQUENCE:2" in text
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:1" in text, "seg 1's discontinuity left with it"
    assert [line for line in text.splitlines() if line.endswith(".mp4")] == ["seg_00002.mp4", "seg_00003.mp4", "seg_00004.mp4"]
    assert text.count("#EXT-X-DISCONTINUITY\n") == 1 and text.index("#EXT-X-DISCONTINUITY\n") < text.index("seg_00003.mp4")
    assert "#EXT-X-ENDLIST" not in text and "#EXT-X-TARGETDURATION:2" in text
    assert "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:24.000Z" in text  # seq 2's first frame
    window.end()
    assert window.media("360p").endswith("#EXT-X-ENDLIST\n")
    with pytest.raises(ValueError, match="ended"):
        window.add(entry(5))


def test_segments_come_in_order_and_a_window_is_at_least_three() -> None:
    window = LiveWindow()
    window.add(entry(4))
    with pytest.raises(ValueError, match="comes after"):
        window.add(entry(4))
    with pytest.raises(ValueError):
        LiveWindow(size=2)


def test_the_master_lists_each_rendition_with_its_attributes() -> None:
    window = LiveWindow()
    window.renditions["360p"] = Rendition("360p", 640, 360, 30.0, 900_000)
    master = window.master()
    assert "RESOLUTION=640x360" in master and "BANDWIDTH=900000" in master and "360p/index.m3u8" in master
