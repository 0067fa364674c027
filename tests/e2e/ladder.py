"""Checks on a downloaded HLS ladder, shared by the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import av


def decode_playlist(playlist: Path) -> tuple[int, int, int, float]:
    """Decode every video frame of a media playlist: (frames, width, height, seconds)."""
    frames = 0
    width = height = 0
    first = last = None
    with av.open(str(playlist)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            frames += 1
            width, height = frame.width, frame.height
            t = float(frame.pts * frame.time_base)
            first = t if first is None else min(first, t)
            last = t if last is None else max(last, t)
    assert first is not None and last is not None, f"{playlist} has no video frames"
    return frames, width, height, last - first + 1 / 30


def assert_ladder(master: Path, expected: dict[str, tuple[int, int]], seconds: float) -> None:
    """Every rendition in `expected` (name -> size) decodes whole, at its size, for `seconds`."""
    text = master.read_text()
    assert text.startswith("#EXTM3U")
    for name, (w, h) in expected.items():
        playlist = master.parent / name / "index.m3u8"
        assert f"{name}/index.m3u8" in text, f"master lacks {name}"
        assert f"RESOLUTION={w}x{h}" in text
        frames, fw, fh, dur = decode_playlist(playlist)
        assert (fw, fh) == (w, h), f"{name}: decoded {fw}x{fh}, expected {w}x{h}"
        assert abs(dur - seconds) < 0.2, f"{name}: {dur:.3f} s of video, expected {seconds}"
        assert abs(frames - round(seconds * 30)) <= 2, f"{name}: {frames} frames"
