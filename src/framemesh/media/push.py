"""Send a video file to an RTMP server in real time, as a camera or OBS would.

H.264 video with AAC or MP3 audio goes as it is (stream copy, FLV's own codecs);
anything else is encoded on the way (H.264 with a keyframe every 2 s and no
B-frames, AAC), which is what live ingest wants. Packets leave at the pace of their
timestamps, so a 60 s file takes 60 s to send; `loops` sends it that many times
over, the timestamps carrying on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import av.error

from framemesh.media.errors import InvalidMediaError, MediaError
from framemesh.media.probe import probe

COPY_VIDEO = {"h264"}
COPY_AUDIO = {"aac", "mp3"}
GOP_SECONDS = 2.0


def push_realtime(
    source: Path, url: str, *, loops: int = 1, on_progress: Callable[[float], None] | None = None,
) -> float:
    """Send `source` to `url` (rtmp://…/live/KEY); returns the seconds of media sent.
    Raises InvalidMediaError for a file that is not a video, MediaError when the
    server refuses or drops the connection (its words in the message)."""
    info = probe(source)  # refuse what is not a video before connecting
    if info.video is None:
        raise InvalidMediaError(f"{source.name} has no video")
    started = time.monotonic()
    sent = 0.0
    try:
        with av.open(url, "w", format="flv") as out:
            sender = _Sender(out, source)
            for n in range(loops):
                sent = sender.run(offset=sent, started=started, on_progress=on_progress)
            sender.flush()
    except av.error.FFmpegError as exc:
        raise MediaError(f"sending to {url.rsplit('/', 1)[0]}/…: {exc}") from exc
    return sent


class _Sender:
    def __init__(self, out: av.container.OutputContainer, source: Path) -> None:
        self.out = out
        self.source = source
        with av.open(str(source)) as probe_in:
            video = probe_in.streams.video[0]
            audio = probe_in.streams.audio[0] if probe_in.streams.audio else None
            self.copy_video = video.codec_context.name in COPY_VIDEO
            self.copy_audio = audio is None or audio.codec_context.name in COPY_AUDIO
            self.fps = video.average_rate or video.guessed_rate or Fraction(30)
            if self.copy_video:
                self.vout = out.add_stream_from_template(video)
            else:
                self.vout = out.add_stream("libx264", rate=self.fps)
                self.vout.width, self.vout.height = video.codec_context.width, video.codec_context.height
                self.vout.pix_fmt = "yuv420p"
                self.vout.options = {"preset": "veryfast", "tune": "zerolatency", "bf": "0",
                                     "g": str(max(1, round(float(self.fps) * GOP_SECONDS))), "sc_threshold": "0"}
            self.frames = self.samples = 0
            self.aout = None
            if audio is not None:
                if self.copy_audio:
                    self.aout = out.add_stream_from_template(audio)
                else:
                    self.aout = out.add_stream("aac", rate=audio.codec_context.sample_rate or 48000)

    def run(self, *, offset: float, started: float, on_progress: Callable[[float], None] | None) -> float:
        """Send the file once, its timeline shifted by `offset` seconds; returns where it ended."""
        end = offset
        with av.open(str(self.source)) as src:
            streams = [src.streams.video[0], *src.streams.audio[:1]]
            first: float | None = None
            for packet in src.demux(streams):
                if packet.pts is None or packet.time_base is None:
                    continue
                t = float(packet.pts * packet.time_base)
                first = t if first is None else first
                at = offset + t - first
                wait = started + at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                is_video = packet.stream.type == "video"
                for out_packet in self._encode(packet, is_video, offset - first):
                    self.out.mux(out_packet)
                end = max(end, at + (float(packet.duration * packet.time_base) if packet.duration else 0.0))
                if on_progress is not None and is_video:
                    on_progress(at)
        return end

    def _encode(self, packet: av.Packet, is_video: bool, shift: float) -> list[av.Packet]:
        target = self.vout if is_video else self.aout
        if target is None:
            return []
        if (self.copy_video if is_video else self.copy_audio):
            delta = round(shift / packet.time_base)
            packet.pts = packet.pts + delta if packet.pts is not None else None
            packet.dts = packet.dts + delta if packet.dts is not None else None
            packet.stream = target
            return [packet]
        out: list[av.Packet] = []
        for frame in packet.decode():
            # Count frames (and samples) ourselves: constant rate, and continuous across loops.
            if is_video:
                frame.pts, frame.time_base = self.frames, Fraction(1) / self.fps
                self.frames += 1
            else:
                frame.pts, frame.time_base = self.samples, Fraction(1, frame.sample_rate)
                self.samples += frame.samples
            out += target.encode(frame)
        return out

    def flush(self) -> None:
        for target, copied in ((self.vout, self.copy_video), (self.aout, self.copy_audio)):
            if target is not None and not copied:
                for packet in target.encode(None):
                    self.out.mux(packet)
