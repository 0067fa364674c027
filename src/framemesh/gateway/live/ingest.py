"""One encoder connection's media: bytes in, keyframe-aligned segments out.

The RTMP listener writes the connection's FLV into an `Ingest` (a bounded pipe, so a
reader that stalls cannot eat the gateway's memory); a thread demuxes it with PyAV
and cuts segments (`media.live_segment`) as the packets arrive, handing each to
`on_segment`. Before the first segment the source is checked: it has video, PyAV
decodes its first keyframe, its size is sane. When the connection ends (or the
source turns out unusable) `on_end` is told why, once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from framemesh.media.errors import InvalidMediaError
from framemesh.media.live_segment import LiveSegment, LiveSegmenter

log = logging.getLogger("framemesh.gateway.live")

MAX_SIDE = 4096
# What PyAV reads before it knows the streams: little, or the first second of packets
# waits for the probe (and with it the first segment).
OPEN_OPTIONS = {"analyzeduration": "0", "probesize": "32768", "fpsprobesize": "0"}


class PipeFull(Exception):
    """The reader fell too far behind the writer."""


class BytePipe:
    """Bytes from the event loop to a reader thread; `write` never blocks, `read`
    waits for data or the end. Holding more than `limit` bytes is an error."""

    def __init__(self, limit: int = 64 << 20) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._cond = threading.Condition()
        self._closed = False

    def write(self, data: bytes) -> None:
        with self._cond:
            if self._closed:
                return
            if len(self._buffer) + len(data) > self.limit:
                self._closed = True
                self._cond.notify()
                raise PipeFull(f"the stream's reader is {len(self._buffer)} bytes behind")
            self._buffer += data
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def read(self, n: int = -1) -> bytes:
        with self._cond:
            while not self._buffer and not self._closed:
                self._cond.wait()
            n = len(self._buffer) if n < 0 else min(n, len(self._buffer))
            out = bytes(self._buffer[:n])
            del self._buffer[:n]
            return out


@dataclass(frozen=True)
class SourceFacts:
    """What the encoder sends, read from its first packets."""

    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None


def check_source(video: av.video.stream.VideoStream) -> SourceFacts:
    """Refuse a source the network cannot transcode; raises InvalidMediaError."""
    ctx = video.codec_context
    width, height = ctx.width or 0, ctx.height or 0
    if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE):
        raise InvalidMediaError(f"the video is {width}x{height}; send 16x16 to {MAX_SIDE}x{MAX_SIDE}")
    rate = video.average_rate or video.guessed_rate or Fraction(30)
    return SourceFacts(width, height, float(rate), ctx.name, None)


class Ingest:
    """The media of one encoder connection (or one run of HTTP pushes): a `Feed`."""

    def __init__(
        self,
        out_dir: Path,
        *,
        name: str,
        on_segment: Callable[[LiveSegment, SourceFacts], None],
        on_end: Callable[[str | None], None],
        target_duration: float = 2.0,
        max_duration: float = 10.0,
        container_format: str = "flv",
    ) -> None:
        self.out_dir = out_dir
        self.name = name
        self.on_segment = on_segment
        self.on_end = on_end
        self.target = target_duration
        self.max = max_duration
        self.format = container_format
        self.pipe = BytePipe()
        self.facts: SourceFacts | None = None
        self._thread = threading.Thread(target=self._run, name=f"ingest-{name}", daemon=True)
        self._stopped = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def write(self, data: bytes) -> None:
        try:
            self.pipe.write(data)
        except PipeFull as exc:
            log.warning("ingest %s: %s; dropping the connection's media", self.name, exc)

    def close(self) -> None:
        self.pipe.close()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        error: str | None = None
        segmenter: LiveSegmenter | None = None
        try:
            with av.open(self.pipe, format=self.format, mode="r", options=OPEN_OPTIONS) as source:
                if not source.streams.video:
                    raise InvalidMediaError("the stream has no video")
                video = source.streams.video[0]
                inputs = [video, *source.streams.audio[:1]]
                segmenter = LiveSegmenter(self.out_dir, inputs, target_duration=self.target, max_duration=self.max, name=self.name)
                decoder = None
                for packet in source.demux(inputs):
                    if self.facts is None and packet.stream is video and packet.is_keyframe and packet.size:
                        self.facts = check_source(video)
                        decoder = av.CodecContext.create(video.codec_context.name, "r")
                        decoder.extradata = video.codec_context.extradata
                        if not decoder.decode(packet) and not decoder.decode(None):
                            raise InvalidMediaError(f"the first keyframe of the {video.codec_context.name} video does not decode")
                        audio = source.streams.audio[0].codec_context.name if source.streams.audio else None
                        self.facts = SourceFacts(self.facts.width, self.facts.height, self.facts.fps, self.facts.video_codec, audio)
                    for segment in segmenter.feed(packet):
                        self.on_segment(segment, self._facts())
                last = segmenter.finish()
                if last is not None:
                    self.on_segment(last, self._facts())
        except InvalidMediaError as exc:
            error = str(exc)
        except av.error.FFmpegError as exc:
            error = f"the stream cannot be read: {exc}" if self.facts is None else None
            if error is None:
                log.info("ingest %s ended reading: %s", self.name, exc)
        except Exception as exc:  # a bug must end this stream with a reason, not the gateway
            log.exception("ingest %s crashed", self.name)
            error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            if segmenter is not None and error is not None:
                segmenter.abort()
            self.pipe.close()
            self.on_end(error)

    def _facts(self) -> SourceFacts:
        if self.facts is None:  # a segment always starts on the keyframe that set them
            raise InvalidMediaError("a segment came before the source was checked")
        return self.facts
