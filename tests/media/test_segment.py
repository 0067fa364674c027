"""Segmentation: keyframe-aligned stream-copy cuts that tile the source exactly."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framemesh.media.errors import InvalidMediaError
from framemesh.media.probe import probe
from framemesh.media.segment import SegmentInfo, plan_cuts, split_segments
from framemesh.media.testclip import make_test_clip

from .conftest import CLIP_SECONDS


def _packets(path: Path) -> dict[str, list[tuple[float, bytes]]]:
    """Per stream type: (time, payload) of every packet, in time order."""
    out: dict[str, list[tuple[float, bytes]]] = {"video": [], "audio": []}
    with av.open(str(path)) as c:
        for p in c.demux():
            if p.size and p.pts is not None:
                out[p.stream.type].append((round(float(p.pts * p.time_base), 3), bytes(p)))
    return {k: sorted(v) for k, v in out.items()}


def test_plan_cuts_at_first_keyframe_past_target() -> None:
    assert plan_cuts([0, 1, 2, 3, 4, 5], 2.0) == [0, 2, 4]
    assert plan_cuts([0, 1.5, 3.0, 4.5], 2.0) == [0, 3.0]
    assert plan_cuts([0, 10, 20], 2.0) == [0, 10, 20]
    assert plan_cuts([0, 1.995, 4.0], 2.0) == [0, 1.995, 4.0]  # rounding slack
    with pytest.raises(ValueError):
        plan_cuts([0.0], 0)


@given(
    st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=1, max_size=50, unique=True),
    st.floats(min_value=0.5, max_value=10),
)
def test_plan_cuts_invariants(keyframes: list[float], target: float) -> None:
    keyframes.sort()
    cuts = plan_cuts(keyframes, target)
    assert cuts[0] == keyframes[0]
    assert set(cuts) <= set(keyframes)
    assert all(b - a >= target - 0.01 for a, b in itertools.pairwise(cuts))
    # no cut skipped a keyframe that was already far enough
    for a, b in itertools.pairwise(cuts):
        assert not [k for k in keyframes if a + target - 0.01 <= k < b]


def test_segments_are_two_seconds_and_contiguous(segments: list[SegmentInfo]) -> None:
    assert [s.index for s in segments] == [0, 1, 2]
    assert [s.start for s in segments] == pytest.approx([0.0, 2.0, 4.0])
    assert [s.duration for s in segments] == pytest.approx([2.0, 2.0, 2.0])
    for a, b in itertools.pairwise(segments):
        assert a.start + a.duration == pytest.approx(b.start)
    assert sum(s.duration for s in segments) == pytest.approx(CLIP_SECONDS, abs=0.05)
    assert all(s.path.suffix == ".mkv" and s.path.name == f"seg_{s.index:05d}.mkv" for s in segments)


def test_each_segment_starts_on_a_keyframe_at_its_source_time(segments: list[SegmentInfo]) -> None:
    for seg in segments:
        with av.open(str(seg.path)) as c:
            first = next(f for f in c.decode(video=0))
        assert first.key_frame
        assert float(first.time) == pytest.approx(seg.start, abs=0.002)
        info = probe(seg.path)
        assert info.start == pytest.approx(seg.start, abs=0.002)


def test_segments_hold_every_source_packet_exactly_once(clip: Path, segments: list[SegmentInfo]) -> None:
    source = _packets(clip)
    parts = [_packets(s.path) for s in segments]
    for kind in ("video", "audio"):
        joined = sorted(p for part in parts for p in part[kind])
        assert joined == source[kind], f"{kind} packets differ"
    assert len(source["video"]) == 180
    # audio goes with the segment whose time range holds it
    for seg, part in zip(segments, parts):
        for t, _ in part["audio"]:
            assert seg.index == 0 and t < seg.start or seg.start - 0.002 <= t < seg.start + seg.duration


def test_sparse_keyframes_are_reencoded(tmp_path: Path) -> None:
    src = make_test_clip(tmp_path / "one.mp4", duration=9, width=160, height=90, keyframe_interval=None)
    segments = split_segments(src, tmp_path / "segs")
    assert len(segments) == 5
    assert [s.start for s in segments] == pytest.approx([0, 2, 4, 6, 8], abs=0.002)
    assert sum(s.duration for s in segments) == pytest.approx(9.0, abs=0.05)
    frames = 0
    for seg in segments:
        info = probe(seg.path)
        assert info.video is not None and info.audio is not None
        frames += info.video.frames or 0
    assert frames == 270
    assert sorted(p.name for p in (tmp_path / "segs").iterdir()) == [s.path.name for s in segments]


def test_long_but_regular_keyframes_are_kept(tmp_path: Path) -> None:
    src = make_test_clip(tmp_path / "gop6.mp4", duration=12, width=160, height=90, keyframe_interval=6, audio=False)
    segments = split_segments(src, tmp_path / "segs")
    assert [(s.start, s.duration) for s in segments] == [(0.0, 6.0), (6.0, 6.0)]
    with av.open(str(segments[1].path)) as c:
        assert sum(p.is_keyframe for p in c.demux(c.streams.video[0]) if p.size) == 1  # copied, not re-encoded


def test_bad_source_is_refused_before_writing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(InvalidMediaError):
        split_segments(bad, tmp_path / "segs")
    assert not (tmp_path / "segs").exists()


def test_frames_before_the_first_keyframe_are_dropped(clip: Path, tmp_path: Path) -> None:
    """A stream cut mid-GOP: nobody can decode its head, so no segment carries it."""
    headless = tmp_path / "headless.mkv"
    with av.open(str(clip)) as inp, av.open(
        str(headless), "w", format="matroska", container_options={"avoid_negative_ts": "disabled"}
    ) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        skipped = 0
        for packet in inp.demux():
            if packet.dts is None:
                continue
            if packet.stream.type == "video" and skipped < 5:
                skipped += 1  # the first keyframe and a few frames after it
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    segments = split_segments(headless, tmp_path / "segs")
    assert [s.start for s in segments] == pytest.approx([2.0, 4.0])
    frames = 0
    for seg in segments:
        with av.open(str(seg.path)) as c:
            packets = [p for p in c.demux(c.streams.video[0]) if p.size]
        assert packets[0].is_keyframe
        frames += len(packets)
    assert frames == 120
