"""Small real media files made in code, for signing tests."""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np


def picture(height: int = 64, width: int = 96, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (height, width, 3)).astype(np.uint8)


def write_image(path: Path, pixels: np.ndarray) -> Path:
    """PNG or JPEG (by extension) of an RGB array, through PyAV's image2 muxer."""
    codec, pix_fmt = {".png": ("png", "rgb24"), ".jpg": ("mjpeg", "yuvj420p"), ".jpeg": ("mjpeg", "yuvj420p")}[
        path.suffix
    ]
    height, width = pixels.shape[:2]
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream(codec)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format=pix_fmt)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_wav(path: Path, seconds: float = 1.0, rate: int = 16_000) -> Path:
    t = np.arange(int(seconds * rate))
    samples = (np.sin(2 * np.pi * 440 * t / rate) * 8000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def write_mp3(path: Path, frames: int = 40, rate: int = 44_100) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mp3", rate=rate)
        for i in range(frames):
            t = (i * 1152 + np.arange(1152)) / rate
            data = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, i * 1152
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def flip(path: Path, offset: int) -> None:
    """Invert one byte of `path` in place."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def count_frames(path: Path | str) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))
