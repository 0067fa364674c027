"""RenditionEncoder and EncoderThread used directly: slots, keyframe, failure handling."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from framemesh.media.encoder import (
    AudioFormat,
    EncoderFactory,
    EncoderThread,
    RenditionEncoder,
)
from framemesh.media.profiles import RenditionSpec

SPEC = RenditionSpec("tiny", 64, 36, 100_000, 64_000)


def _frame(value: int, width: int = 128, height: int = 72) -> av.VideoFrame:
    arr = np.full((height * 3 // 2, width), value, dtype=np.uint8)
    arr[: height // 2, : width // 2] = 255 - value  # some structure to scale
    return av.VideoFrame.from_ndarray(arr, format="yuv420p")


def _packets(path: Path) -> list[av.Packet]:
    with av.open(str(path)) as c:
        return [p for p in c.demux(c.streams.video[0]) if p.size]


def test_each_slot_becomes_one_frame_at_its_time(tmp_path: Path) -> None:
    enc = RenditionEncoder(SPEC, tmp_path / "a.mp4", None, preset="ultrafast", threads=1)
    enc.encode_video(_frame(50), range(90, 92))
    enc.encode_video(_frame(90), range(92, 92))  # dropped frame: no slot
    enc.encode_video(_frame(130), range(92, 95))
    out = enc.finish()
    assert (out.frames, out.duration, out.width, out.height) == (5, pytest.approx(5 / 30), 64, 36)
    packets = _packets(out.path)
    assert [float((p.pts or 0) * (p.time_base or 0)) for p in packets] == pytest.approx([n / 30 for n in range(90, 95)])
    assert packets[0].is_keyframe
    with av.open(str(out.path)) as c:
        lumas = [f.to_ndarray(format="gray")[30, 50] for f in c.decode(video=0)]
    assert abs(int(lumas[0]) - 50) < 20 and abs(int(lumas[-1]) - 130) < 20


def test_same_size_frames_are_not_mutated(tmp_path: Path) -> None:
    shared = _frame(80, 64, 36)
    shared.pts = 7
    enc = RenditionEncoder(SPEC, tmp_path / "b.mp4", None, preset="ultrafast", threads=1)
    enc.encode_video(shared, range(3))
    enc.finish()
    assert shared.pts == 7  # other renditions' threads read this very frame


def test_audio_is_encoded_as_aac(tmp_path: Path) -> None:
    enc = RenditionEncoder(SPEC, tmp_path / "c.mp4", AudioFormat(48_000, "mono"), preset="ultrafast", threads=1)
    enc.encode_video(_frame(10), range(30))
    for i in range(47):
        enc.encode_audio(np.zeros((1, 1024), dtype=np.float32), i * 1024)
    out = enc.finish()
    with av.open(str(out.path)) as c:
        audio = c.streams.audio[0]
        assert (audio.codec_context.name, audio.codec_context.sample_rate, audio.codec_context.channels) == ("aac", 48_000, 1)
        assert audio.time_base == Fraction(1, 48_000)
        assert sum(1 for p in c.demux(audio) if p.size) >= 47


def test_thread_reports_the_error_and_drains_its_queue(tmp_path: Path) -> None:
    bad = RenditionSpec("odd", 63, 35, 100_000, 64_000)
    worker = EncoderThread(EncoderFactory(bad, tmp_path / "d.mp4", None, preset="ultrafast", threads=1))
    worker.start()
    for n in range(40):  # more than the queue holds: put() must not block forever
        worker.inbox.put(("video", _frame(n), range(n, n + 1)))
    worker.inbox.put(None)
    with pytest.raises(av.error.FFmpegError):
        worker.result()
    assert not worker.is_alive()


def test_thread_returns_the_output(tmp_path: Path) -> None:
    worker = EncoderThread(EncoderFactory(SPEC, tmp_path / "e.mp4", None, preset="ultrafast", threads=1))
    worker.start()
    for n in range(10):
        worker.inbox.put(("video", _frame(n * 20), range(n, n + 1)))
    worker.inbox.put(None)
    out = worker.result()
    assert out.frames == 10 and out.path.is_file()
