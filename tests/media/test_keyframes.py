"""Re-encoding a source with sparse keyframes: IDR every interval, same timeline, audio copied."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from framemesh.media.errors import InvalidMediaError
from framemesh.media.keyframes import reencode_with_keyframes
from framemesh.media.testclip import make_test_clip


@pytest.fixture(scope="module")
def one_keyframe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_clip(
        tmp_path_factory.mktemp("kf") / "one.mp4", duration=5, width=160, height=90, keyframe_interval=None
    )


def _video(path: Path) -> list[tuple[float, bool]]:
    with av.open(str(path)) as c:
        return sorted(
            (round(float(p.pts * p.time_base), 4), p.is_keyframe)
            for p in c.demux(c.streams.video[0])
            if p.size and p.pts is not None and p.time_base
        )


def test_keyframe_every_interval(one_keyframe: Path, tmp_path: Path) -> None:
    out = reencode_with_keyframes(one_keyframe, tmp_path / "k.mkv", 1.5)
    packets = _video(out)
    assert len(packets) == 150
    assert [t for t, key in packets if key] == pytest.approx([0.0, 1.5, 3.0, 4.5], abs=0.002)


def test_timeline_and_audio_are_kept(one_keyframe: Path, tmp_path: Path) -> None:
    out = reencode_with_keyframes(one_keyframe, tmp_path / "k.mkv", 2.0)
    assert [t for t, _ in _video(out)] == pytest.approx([t for t, _ in _video(one_keyframe)], abs=0.001)
    with av.open(str(one_keyframe)) as a, av.open(str(out)) as b:
        src = [bytes(p) for p in a.demux(a.streams.audio[0]) if p.size]
        dst = [bytes(p) for p in b.demux(b.streams.audio[0]) if p.size]
    assert dst == src  # copied, not re-encoded


def test_undecodable_source(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(InvalidMediaError) as info:
        reencode_with_keyframes(bad, tmp_path / "k.mkv", 2.0)
    assert "bad.mp4" in str(info.value)
