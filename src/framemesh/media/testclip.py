"""Synthesise test clips: H.264 + AAC in MP4, with motion, fine detail and a tone.

Flat colour would make every picture check pass (a black frame is "similar" to a
black frame), so the picture is a random texture panned diagonally under a moving
box, with the frame number drawn as a binary bar code: any two frames differ, and a
shifted, scaled or swapped picture scores badly against the right one.

Speed: the texture is made once in numpy at twice the frame size and each frame is a
moving window onto it (a slice copy), written straight as yuv420p planes, so even
1080p frames cost a few milliseconds before the encoder.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

_SAMPLE_RATE = 48_000
_AUDIO_FRAME = 1024
_BITS = 12  # frame counter bits: 4096 frames, over two minutes at 30 fps


def make_test_clip(
    path: Path,
    *,
    duration: float = 6.0,
    width: int = 640,
    height: int = 360,
    fps: int = 30,
    keyframe_interval: float | None = 2.0,
    audio: bool = True,
    seed: int = 0,
    preset: str = "veryfast",
) -> Path:
    """Write a clip of `duration` seconds to `path` (MP4) and return the path.

    `keyframe_interval` seconds between IDR frames, exactly (scene-cut detection off);
    None gives a single keyframe at the start, the case a segmenter must re-encode.
    `seed` picks the texture: two seeds give two clips that share nothing.
    """
    if width % 2 or height % 2 or width < 16 or height < 16:
        raise ValueError(f"width and height must be even and at least 16 (got {width}x{height})")
    if duration <= 0 or fps <= 0:
        raise ValueError("duration and fps must be positive")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = max(1, round(duration * fps))
    painter = _Painter(width, height, seed)
    keyint = "infinite" if keyframe_interval is None else str(max(1, round(keyframe_interval * fps)))
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, fps)
        video.options = {
            "preset": preset,
            "crf": "20",
            "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0",
        }
        tone = None
        if audio:
            tone = out.add_stream("aac", rate=_SAMPLE_RATE, layout="stereo")
            tone.bit_rate = 128_000
        sample = 0
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(painter.frame(i), format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
            if tone is not None:
                while sample < (i + 1) * _SAMPLE_RATE // fps:
                    out.mux(tone.encode(_tone_frame(sample)))
                    sample += _AUDIO_FRAME
        out.mux(video.encode(None))
        if tone is not None:
            out.mux(tone.encode(None))
    return path


class _Painter:
    """Draws frame i as a (height * 3 / 2, width) yuv420p array."""

    def __init__(self, width: int, height: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.width, self.height = width, height
        coarse = rng.integers(40, 216, size=(height * 2 // 16 + 1, width * 2 // 16 + 1), dtype=np.uint8)
        fine = rng.integers(-12, 13, size=(height * 2 // 2 + 1, width * 2 // 2 + 1), dtype=np.int16)
        texture = np.kron(coarse, np.ones((16, 16), dtype=np.uint8))[: height * 2, : width * 2].astype(np.int16)
        texture += np.kron(fine, np.ones((2, 2), dtype=np.int16))[: height * 2, : width * 2]
        self.texture = np.clip(texture, 16, 235).astype(np.uint8)
        yy, xx = np.mgrid[0 : height // 2, 0 : width // 2]
        self.u = (128 + 60 * np.sin(xx / max(1, width // 2) * 6.28 + seed)).astype(np.uint8)
        self.v = (128 + 60 * np.cos(yy / max(1, height // 2) * 6.28 + seed)).astype(np.uint8)
        self.block = max(2, width // 40) & ~1

    def frame(self, i: int) -> np.ndarray:
        w, h = self.width, self.height
        x0, y0 = (i * 5) % w, (i * 3) % h
        # PyAV reads a yuv420p array as one flat buffer: Y, then U, then V
        flat = np.empty(w * h * 3 // 2, dtype=np.uint8)
        luma = flat[: w * h].reshape(h, w)
        luma[:] = self.texture[y0 : y0 + h, x0 : x0 + w]
        side = h // 4
        bx = int((w - side) * (0.5 + 0.5 * np.sin(i / 15)))
        by = int((h - side) * (0.5 + 0.5 * np.cos(i / 11)))
        luma[by : by + side, bx : bx + side] = 235 - (i * 7) % 100
        b = self.block
        for bit in range(_BITS):
            luma[b : 3 * b, b * (bit + 1) : b * (bit + 2)] = 235 if (i >> bit) & 1 else 16
        shift = (i * 2) % (w // 2)
        flat[w * h : w * h * 5 // 4] = np.roll(self.u, shift, axis=1).ravel()
        flat[w * h * 5 // 4 :] = np.roll(self.v, -shift, axis=1).ravel()
        return flat.reshape(h * 3 // 2, w)


def _tone_frame(start_sample: int) -> av.AudioFrame:
    """1024 stereo samples of a 440 Hz tone (660 Hz on the right), pts in samples."""
    t = (start_sample + np.arange(_AUDIO_FRAME)) / _SAMPLE_RATE
    left = 0.3 * np.sin(2 * np.pi * 440 * t)
    right = 0.3 * np.sin(2 * np.pi * 660 * t)
    frame = av.AudioFrame.from_ndarray(np.stack([left, right]).astype(np.float32), format="fltp", layout="stereo")
    frame.sample_rate = _SAMPLE_RATE
    frame.pts = start_sample
    frame.time_base = Fraction(1, _SAMPLE_RATE)
    return frame
