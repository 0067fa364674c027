"""Re-encode a source whose keyframes are too sparse to cut it into segments.

Only the video is re-encoded (libx264 at high quality, same size and timestamps,
an IDR frame forced every `interval` seconds so the segmenter can cut there); audio
is copied as is. The result is Matroska, like the segments cut from it.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.video.frame import PictureType

from framemesh.media.errors import InvalidMediaError, TranscodeError


def reencode_with_keyframes(source: Path, dest: Path, interval: float, *, preset: str = "veryfast") -> Path:
    """Write `source` to `dest` with an IDR frame at least every `interval` seconds."""
    try:
        with av.open(str(source)) as inp, av.open(
            str(dest), "w", format="matroska", container_options={"avoid_negative_ts": "disabled"}
        ) as out:
            vin = inp.streams.video[0]
            vin.thread_type = "AUTO"
            ain = inp.streams.audio[0] if inp.streams.audio else None
            rate = vin.average_rate or vin.guessed_rate or Fraction(30)
            vout = out.add_stream("libx264", rate=rate)
            vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
            vout.codec_context.time_base = vin.time_base or Fraction(1, 90_000)
            vout.options = {
                "preset": preset,
                "crf": "18",
                "forced-idr": "1",
                "x264-params": "keyint=infinite:scenecut=0",
            }
            aout = out.add_stream_from_template(ain) if ain is not None else None
            next_key: float | None = None
            for packet in inp.demux([s for s in (vin, ain) if s is not None]):
                if packet.stream is ain:
                    if packet.size and aout is not None:
                        packet.stream = aout
                        out.mux(packet)
                    continue
                for frame in packet.decode():
                    if not isinstance(frame, av.VideoFrame) or frame.time is None:
                        continue
                    t = float(frame.time)
                    if frame.format.name != "yuv420p":
                        frame = frame.reformat(format="yuv420p")
                    if next_key is None or t >= next_key - 1e-3:
                        frame.pict_type = PictureType.I
                        next_key = (t if next_key is None else next_key) + interval
                    else:
                        frame.pict_type = PictureType.NONE
                    out.mux(vout.encode(frame))
            out.mux(vout.encode(None))
    except av.error.InvalidDataError as exc:
        raise InvalidMediaError(f"{source.name}: the video does not decode ({exc})") from exc
    except av.error.FFmpegError as exc:
        raise TranscodeError(f"could not re-encode {source.name} with keyframes: {exc}") from exc
    return dest
