"""Live segments cut as packets arrive: keyframe-aligned, every packet once, the
source's timestamps kept, each segment decodable alone."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from framemesh.media.live_segment import LiveSegmenter, SparseKeyframes
from framemesh.media.probe import probe
from framemesh.media.testclip import make_test_clip


def _cut(clip: Path, out: Path, **kw: float) -> list:  # type: ignore[type-arg]
    segments = []
    with av.open(str(clip)) as source:
        inputs = [source.streams.video[0], *source.streams.audio[:1]]
        segmenter = LiveSegmenter(out, inputs, **kw)
        for packet in source.demux(inputs):
            segments += segmenter.feed(packet)
        last = segmenter.finish()
    return segments + ([last] if last else [])


def test_a_stream_is_cut_on_its_keyframes_as_it_arrives(clip: Path, tmp_path: Path) -> None:
    segments = _cut(clip, tmp_path)
    assert [s.index for s in segments] == [0, 1, 2]
    assert [round(s.start, 3) for s in segments] == [0.0, 2.0, 4.0]
    assert all(abs(s.duration - 2.0) < 0.05 for s in segments), [s.duration for s in segments]
    frames = 0
    for s in segments:
        info = probe(s.path)  # decodable alone
        assert info.video is not None and info.audio is not None
        with av.open(str(s.path)) as c:
            packets = [p for p in c.demux(c.streams.video[0]) if p.size]
            frames += len(packets)
            first = min(float(p.pts * p.time_base) for p in packets)
            assert abs(first - s.start) < 0.01, "the source's own timestamps"
            assert packets[0].is_keyframe
    assert frames == 180, "every video frame of the 6 s at 30 fps, once"


def test_keyframes_too_far_apart_are_refused(tmp_path: Path) -> None:
    sparse = make_test_clip(tmp_path / "sparse.mp4", duration=4.0, width=160, height=96, keyframe_interval=None, audio=False)
    with pytest.raises(SparseKeyframes, match="send a keyframe at least every 2 s"):
        _cut(sparse, tmp_path / "out", target_duration=1.0, max_duration=2.0)


def test_packets_before_the_first_keyframe_are_dropped(clip: Path, tmp_path: Path) -> None:
    with av.open(str(clip)) as source:
        video = source.streams.video[0]
        segmenter = LiveSegmenter(tmp_path, [video])
        packets = [p for p in source.demux(video) if p.size]
    assert segmenter.feed(packets[5]) == [] and segmenter.open_since is None, "mid-GOP: nothing to start on"
    assert segmenter.finish() is None
