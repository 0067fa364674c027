"""Decoding and encoding the media that requests carry: images, audio and video.

Both nodes use these (the gateway to check and price a request before it is sent,
the orchestrator's workers to run it), so a malformed file is refused the same way
on both sides, with an `InvalidRequest` that says what was wrong. No model imports.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from framemesh.ai.errors import InvalidRequest

SPEECH_RATE = 16_000  # Hz: what VAD and PocketSphinx take


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at `rate` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate


def image_size(data: bytes, field: str = "image") -> tuple[int, int]:
    """(width, height) of an encoded image, reading only its header."""
    with _open_image(data, field) as img:
        return img.size


def decode_image(data: bytes, field: str = "image", max_pixels: int = 4096 * 4096) -> Image.Image:
    """An RGB image from PNG/JPEG/WebP/... bytes; InvalidRequest if it is not one."""
    img = _open_image(data, field)
    width, height = img.size
    if width * height > max_pixels:
        raise InvalidRequest(
            f"{field} is {width}x{height} = {width * height} pixels; the limit is {max_pixels}"
        )
    try:
        img.load()
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"{field} is a truncated or corrupt image ({exc})") from None
    return img.convert("RGB")


def encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def decode_audio(data: bytes, field: str = "audio", rate: int = SPEECH_RATE) -> Audio:
    """Mono samples at `rate` Hz from any audio file FFmpeg reads (WAV, MP3, FLAC, ...)."""
    import av  # PyAV: a core dependency, imported here to keep image-only users light

    with _opened(data, field, "audio") as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        parts = []
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            parts.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    if len(samples) == 0:
        raise InvalidRequest(f"{field} decodes to no samples: it holds no audio")
    return Audio(samples=samples, rate=rate)


_KINDS = {
    "audio": ("audio file", "send WAV, MP3, FLAC, OGG or another common format", "an audio file (WAV, MP3, FLAC, OGG, ...)"),
    "video": ("video", "send MP4, WebM, MKV or another common format", "a video file (MP4, WebM, MKV, ...)"),
}


@contextmanager
def _opened(data: bytes, field: str, kind: str) -> Iterator[Any]:
    """The file in `data` opened with FFmpeg, with a stream of `kind` ("audio", "video");
    anything FFmpeg cannot read is an InvalidRequest that says so."""
    import av

    noun, advice, wanted = _KINDS[kind]
    if not data:
        raise InvalidRequest(f"{field} is empty: send {wanted}")
    try:
        with av.open(io.BytesIO(data)) as container:
            if not getattr(container.streams, kind):
                raise InvalidRequest(f"{field} has no {kind} stream")
            yield container
    except InvalidRequest:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise InvalidRequest(f"{field} is not a decodable {noun} ({type(exc).__name__}: {exc}); {advice}") from None


def encode_wav(samples_int16: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.asarray(samples_int16, dtype=np.int16).tobytes())
    return buf.getvalue()


def _open_image(data: bytes, field: str) -> Image.Image:
    if not data:
        raise InvalidRequest(f"{field} is empty: send a PNG, JPEG or WebP file")
    try:
        return Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidRequest(
            f"{field} is not an image ({exc.__class__.__name__}); send a PNG, JPEG or WebP file"
        ) from None


def encode_mp4(frames_png: list[bytes], fps: int) -> bytes:
    """An H.264 MP4 (yuv420p) of PNG frames: what image-to-video's URL serves."""
    if not frames_png:
        raise ValueError("no frames to encode")
    return encode_video([decode_image(data, "frame") for data in frames_png], fps)


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    frames: int
    fps: float

    @property
    def duration(self) -> float:
        return self.frames / self.fps


def video_info(data: bytes, field: str = "video") -> VideoInfo:
    """Size, frame count and rate of a video file, read from its packets (nothing decoded)."""
    with _opened(data, field, "video") as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or 0
        frames = sum(1 for packet in container.demux(stream) if packet.size)
        info = VideoInfo(stream.codec_context.width, stream.codec_context.height, frames, float(rate))
    if info.frames < 1 or info.width < 1 or info.fps <= 0:
        raise InvalidRequest(f"{field} holds no frames at a known rate")
    return info


def decode_video(data: bytes, field: str = "video") -> tuple[list[Image.Image], VideoInfo]:
    """Every frame of a video as RGB images, and its info."""
    info = video_info(data, field)
    with _opened(data, field, "video") as container:
        frames = [frame.to_image() for frame in container.decode(video=0)]
    if not frames:
        raise InvalidRequest(f"{field} decodes to no frames")
    return frames, info


def encode_video(frames: list[Image.Image], fps: float, audio: Audio | None = None) -> bytes:
    """An H.264 MP4 (yuv420p) of `frames`, with `audio` as AAC when given.

    Sizes are cropped to even numbers (yuv420p); the audio is written as it is: the
    caller decides how the two lengths fit.
    """
    import fractions

    import av

    if not frames:
        raise ValueError("no frames to encode")
    width, height = frames[0].size
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fractions.Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=audio.rate)
            sound.layout = "mono"
        for image in frames:
            picture = image.convert("RGB").crop((0, 0, stream.width, stream.height))
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None and audio is not None:
            step = 1024  # AAC's frame size
            for start in range(0, len(audio.samples), step):
                chunk = audio.samples[start : start + step].astype(np.float32)
                frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
                frame.sample_rate = audio.rate
                frame.pts = start
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return buf.getvalue()
