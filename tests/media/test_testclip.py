"""Synthetic test clips: the right shape, real motion, keyframes where asked."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from framemesh.media.testclip import make_test_clip

from .conftest import CLIP_H, CLIP_SECONDS, CLIP_W


def _lumas(path: Path, count: int) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").astype(np.float64) for _, f in zip(range(count), c.decode(video=0))]


def test_clip_has_the_asked_shape_and_sound(clip: Path) -> None:
    with av.open(str(clip)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.name, v.width, v.height) == ("h264", CLIP_W, CLIP_H)
        assert v.average_rate == 30
        assert c.streams.audio[0].codec_context.name == "aac"
        assert c.duration is not None and abs(c.duration / 1e6 - CLIP_SECONDS) < 0.05
        keys = [float(p.pts * p.time_base) for p in c.demux(v) if p.size and p.is_keyframe and p.pts is not None and p.time_base]
    assert keys == [0.0, 2.0, 4.0]


def test_clip_moves_and_has_detail(clip: Path) -> None:
    frames = _lumas(clip, 3)
    assert frames[0].std() > 30, "a flat picture would make PSNR checks meaningless"
    assert np.mean((frames[0] - frames[1]) ** 2) > 500, "consecutive frames must differ"


def test_seeds_give_unrelated_pictures(tmp_path: Path) -> None:
    a = _lumas(make_test_clip(tmp_path / "a.mp4", duration=0.2, width=160, height=90, audio=False), 1)[0]
    b = _lumas(make_test_clip(tmp_path / "b.mp4", duration=0.2, width=160, height=90, audio=False, seed=3), 1)[0]
    assert np.mean((a - b) ** 2) > 1000


def test_single_keyframe_clip(tmp_path: Path) -> None:
    path = make_test_clip(tmp_path / "one.mp4", duration=3, width=160, height=90, keyframe_interval=None, audio=False)
    with av.open(str(path)) as c:
        assert not c.streams.audio
        packets = [p for p in c.demux(c.streams.video[0]) if p.size]
    assert len(packets) == 90
    assert sum(p.is_keyframe for p in packets) == 1


@pytest.mark.parametrize("kwargs", [{"width": 321}, {"height": 8}, {"duration": 0}])
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        make_test_clip(tmp_path / "x.mp4", **kwargs)  # type: ignore[arg-type]


def test_tone_is_440_hz_left_and_660_hz_right(clip: Path) -> None:
    with av.open(str(clip)) as c:
        chunks = [f.to_ndarray() for f in c.decode(audio=0)]
    samples = np.concatenate(chunks, axis=1)[:, 4800:52800]  # one second, past the priming
    assert samples.shape == (2, 48_000)
    peaks = [int(np.argmax(np.abs(np.fft.rfft(ch)))) for ch in samples]  # 1 Hz bins
    assert peaks == [440, 660]
    assert 0.15 < float(np.abs(samples).max()) < 0.5


def test_frame_counter_is_drawn(tmp_path: Path) -> None:
    """The binary counter changes every frame, so no two frames are alike even where the texture repeats."""
    path = make_test_clip(tmp_path / "c.mp4", duration=0.2, width=320, height=180, audio=False)
    frames = _lumas(path, 6)
    block = max(2, 320 // 40) & ~1
    bar = [f[block : 3 * block, block : block * 13] for f in frames]
    bits = [[int(b[:, i * block : (i + 1) * block].mean() > 128) for i in range(12)] for b in bar]
    assert [sum(bit << i for i, bit in enumerate(row)) for row in bits] == [0, 1, 2, 3, 4, 5]
