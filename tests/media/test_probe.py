"""probe: describes real videos, refuses everything else with a clear message."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from framemesh.media.errors import InvalidMediaError, MediaError
from framemesh.media.probe import AudioInfo, MediaInfo, VideoInfo, probe
from framemesh.media.segment import SegmentInfo

from .conftest import CLIP_H, CLIP_SECONDS, CLIP_W


def test_probe_describes_the_clip(clip: Path) -> None:
    info = probe(clip)
    assert isinstance(info, MediaInfo)
    assert "mp4" in info.container
    assert abs(info.duration - CLIP_SECONDS) < 0.05
    assert info.start == 0.0
    assert info.video == VideoInfo(codec="h264", width=CLIP_W, height=CLIP_H, fps=30.0, frames=180)
    assert info.audio == AudioInfo(codec="aac", sample_rate=48_000, channels=2)


def test_probe_of_a_segment_keeps_source_time(segments: list[SegmentInfo]) -> None:
    info = probe(segments[1].path)
    assert info.container.startswith("matroska")
    assert info.start == pytest.approx(2.0)
    assert info.video is not None and info.video.frames == 60
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_probe_accepts_a_file_without_extension(clip: Path, tmp_path: Path) -> None:
    bare = tmp_path / "segment.bin"
    bare.write_bytes(clip.read_bytes())
    assert probe(bare).video is not None


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(InvalidMediaError) as info:
        probe(path)
    text = str(info.value)
    assert path.name in text
    for word in words:
        assert word in text, text
    assert isinstance(info.value, MediaError)
    return text


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    _refused(tmp_path / "empty.mp4", "empty")


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.mp4", "no such file")


def test_truncated_mp4(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "cut.mp4")


def test_truncated_segment(segments: list[SegmentInfo], tmp_path: Path) -> None:
    data = segments[1].path.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "cut.mkv", "truncated")


def test_segment_missing_its_end(segments: list[SegmentInfo], tmp_path: Path) -> None:
    """Cut at a point where demuxing ends cleanly: the declared duration gives it away."""
    data = segments[1].path.read_bytes()
    (tmp_path / "short.mkv").write_bytes(data[: int(len(data) * 0.4)])
    _refused(tmp_path / "short.mkv", "truncated")


def test_text_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("this is not a video\n" * 50)
    _refused(tmp_path / "notes.txt", "not a video")


def test_png_image(tmp_path: Path) -> None:
    path = tmp_path / "still.png"
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 200, dtype=np.uint8), format="rgb24")
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert path.read_bytes()[:4] == b"\x89PNG"
    _refused(path, "still image")


def test_audio_only(tmp_path: Path) -> None:
    path = tmp_path / "tone.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48_000, layout="mono")
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48_000, i * 1024, Fraction(1, 48_000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    _refused(path, "no video stream")


def test_garbage_after_a_valid_header(clip: Path, tmp_path: Path) -> None:
    data = bytearray(clip.read_bytes())
    rng = np.random.default_rng(1)
    # keep the file type box, destroy the start of the media data (the first frames)
    middle = slice(64, len(data) // 2)
    data[middle] = rng.integers(0, 256, size=len(data[middle]), dtype=np.uint8).tobytes()
    path = tmp_path / "noise.mp4"
    path.write_bytes(bytes(data))
    with pytest.raises(InvalidMediaError):
        probe(path)


def test_probe_of_a_rendition_keeps_its_absolute_start(segments: list[SegmentInfo], tmp_path: Path) -> None:
    from framemesh.media.profiles import RenditionSpec
    from framemesh.media.transcode import transcode_segment

    (out,) = transcode_segment(segments[2].path, [RenditionSpec("x", 160, 90, 100_000, 64_000)], tmp_path, preset="ultrafast")
    info = probe(out.path)
    assert info.video is not None and info.video.frames == 60 and info.video.fps == 30.0
    assert info.start == pytest.approx(4.0)
    assert info.duration == pytest.approx(2.0, abs=0.05)
