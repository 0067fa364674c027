"""What a media file holds, and a firm "no" for anything that is not a usable video.

`probe` does more than read headers: it decodes the first video frame (a header can
promise a stream whose data is garbage) and demuxes every packet without decoding
(cheap: no pixels), which gives an exact frame count and catches a file cut short
— its packets end well before the duration its header declares, or demuxing fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import av.error

from framemesh.media.errors import InvalidMediaError


@dataclass(frozen=True)
class VideoInfo:
    codec: str
    width: int
    height: int
    fps: float
    frames: int | None


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    """A probed file. `duration` is the span its packets cover, in seconds, starting
    at `start` (a segment cut from the middle of a source keeps its source time)."""

    container: str
    duration: float
    video: VideoInfo | None
    audio: AudioInfo | None
    start: float = 0.0


# A file whose packets stop this much short of its declared duration is truncated.
_TRUNCATION_SLACK = 0.5


def probe(path: Path) -> MediaInfo:
    """Describe the video at `path`; raise InvalidMediaError if it is not one.

    Refused: a missing or empty file, a file FFmpeg cannot open, one without a video
    stream (audio only, a still image), one whose first video frame does not decode,
    and one cut short.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidMediaError(f"{path.name}: no such file; check the path")
    if path.stat().st_size == 0:
        raise InvalidMediaError(f"{path.name}: the file is empty; send a video file (MP4, MKV, TS, ...)")
    try:
        with av.open(str(path)) as container:
            return _describe(path, container)
    except InvalidMediaError:
        raise
    except (av.error.FFmpegError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidMediaError(
            f"{path.name}: not a readable video, or damaged or truncated ({exc});"
            " send a whole MP4, MKV or TS file with H.264 or similar video"
        ) from exc


def _describe(path: Path, container: av.container.InputContainer) -> MediaInfo:
    if not container.streams.video:
        raise InvalidMediaError(f"{path.name}: the file has no video stream; send a video, not audio only")
    vstream = container.streams.video[0]
    if container.format.name in _TEXT_FORMATS or vstream.codec_context.name in _TEXT_CODECS:
        raise InvalidMediaError(f"{path.name}: this is a text file, not a video")
    if container.format.name in _IMAGE_FORMATS or vstream.codec_context.name in _IMAGE_CODECS:
        raise InvalidMediaError(f"{path.name}: this is a still image ({container.format.name}), not a video")
    first = next(iter(container.decode(vstream)), None)
    if first is None:
        raise InvalidMediaError(f"{path.name}: the video stream holds no decodable frame; the file may be damaged")
    container.seek(0)  # rewind for a packet count from the start
    astream = container.streams.audio[0] if container.streams.audio else None
    frames, start, end = _scan_packets(container, vstream)
    declared = container.duration / av.time_base if container.duration else None
    span = max(0.0, end - start) if end is not None and start is not None else 0.0
    # Matroska declares the end time, MP4 the span: cut short means short of both.
    reached = max(span, end or 0.0)
    if declared is not None and reached + max(_TRUNCATION_SLACK, 0.05 * declared) < declared:
        raise InvalidMediaError(
            f"{path.name}: truncated: its packets cover {span:.2f} s of the {declared:.2f} s its header declares;"
            " send the whole file"
        )
    rate = vstream.average_rate or vstream.guessed_rate
    video = VideoInfo(
        codec=vstream.codec_context.name,
        width=first.width,
        height=first.height,
        fps=float(rate) if rate else 0.0,
        frames=frames,
    )
    audio = None
    if astream is not None:
        ctx = astream.codec_context
        audio = AudioInfo(codec=ctx.name, sample_rate=ctx.sample_rate, channels=ctx.channels)
    return MediaInfo(
        container=container.format.name,
        duration=span if span > 0 else (declared or 0.0),
        video=video,
        audio=audio,
        start=start or 0.0,
    )


def _scan_packets(
    container: av.container.InputContainer, vstream: av.VideoStream
) -> tuple[int, float | None, float | None]:
    """Video packet count, and the earliest start and latest end (seconds) of any packet."""
    rate = vstream.average_rate or vstream.guessed_rate
    frame_time = 1 / float(rate) if rate else 0.0
    frames = 0
    start: float | None = None
    end: float | None = None
    streams = [s for s in (vstream, *container.streams.audio[:1])]
    for packet in container.demux(streams):
        if packet.size == 0 or packet.time_base is None:
            continue
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is None:
            continue
        t0 = float(ts * packet.time_base)
        t1 = t0 + float((packet.duration or 0) * packet.time_base)
        if packet.stream is vstream and not packet.duration:
            t1 = t0 + frame_time
        if packet.stream is vstream:
            frames += 1
            # the earliest video timestamp is the start; audio may be primed a bit earlier
            start = t0 if start is None else min(start, t0)
        end = t1 if end is None else max(end, t1)
    return frames, start, end


_IMAGE_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "gif", "bmp_pipe", "tiff_pipe"}
# FFmpeg renders text files as "video" (ANSI art); none of them is a video upload.
_TEXT_FORMATS = {"tty", "bin", "xbin", "idf", "adf"}
_TEXT_CODECS = {"ansi", "bintext", "xbin", "idf"}
_IMAGE_CODECS = {"png", "mjpeg", "webp", "bmp", "tiff", "gif"}
