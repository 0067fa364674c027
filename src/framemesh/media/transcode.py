"""Transcode one segment into every rendition of a ladder, decoding it only once.

The main thread demuxes and decodes; each rendition has its own encoder thread
(`encoder.EncoderThread`) that scales, encodes and muxes. Output frame rate is the
spec's (30 fps): output frame n is shown at n / fps seconds *in the source
timeline*, and a source frame shown from t0 to t1 fills the slots between
round(t0 * fps) and round(t1 * fps). Consecutive segments share their boundary time,
so their renditions tile the timeline with no gap, overlap or repeated frame number,
whichever machines made them.

`transcode_segment` is a top-level function with picklable arguments and result, so
an orchestrator can run it in a ProcessPoolExecutor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import av.error

from framemesh.media.encoder import (
    AudioFormat,
    EncoderFactory,
    EncoderThread,
    RenditionOutput,
)
from framemesh.media.errors import InvalidMediaError, MediaError, TranscodeError
from framemesh.media.profiles import RenditionSpec

__all__ = ["RenditionOutput", "VideoFilter", "frame_slots", "transcode_segment"]

VideoFilter = Callable[[av.VideoFrame, float], "av.VideoFrame | None"]

_AAC_FRAME = 1024
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo",
)


def frame_slots(start: float, end: float, fps: int) -> range:
    """The output frame numbers a source frame shown from `start` to `end` (seconds)
    fills at `fps`: empty when frames are dropped, several when repeated. Pure."""
    return range(math.floor(start * fps + 0.5), math.floor(end * fps + 0.5))


def transcode_segment(
    segment: Path,
    renditions: Sequence[RenditionSpec],
    out_dir: Path,
    *,
    preset: str = "veryfast",
    threads: int = 0,
    video_filter: VideoFilter | None = None,
) -> list[RenditionOutput]:
    """Encode `segment` into one fragmented MP4 per rendition, `out_dir/<name>.mp4`.

    H.264 yuv420p at each spec's size, bitrate and frame rate; AAC at the spec's audio
    bitrate if the segment has audio; timestamps kept from the source. `threads` is
    per encoder (0: x264 decides). `video_filter(frame, t)` sees each decoded frame
    (t: seconds in the source timeline) and returns the picture to encode in its place,
    or None to drop it: the last picture returned is then held until the next one, so
    the output keeps the source's timeline. Raises InvalidMediaError for input that does not
    decode and TranscodeError when encoding fails (e.g. an unknown `preset`).
    """
    segment, out_dir = Path(segment), Path(out_dir)
    specs = tuple(renditions)
    if not specs:
        raise TranscodeError("no renditions asked for; plan some with plan_renditions()")
    for s in specs:
        if s.fps <= 0 or s.width < 2 or s.height < 2 or s.video_bitrate <= 0:
            raise TranscodeError(f"rendition {s.name!r} needs a positive fps, size and bitrate (got {s})")
    if preset not in X264_PRESETS:
        raise TranscodeError(f"unknown preset {preset!r}; use one of {', '.join(X264_PRESETS)}")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise TranscodeError(f"rendition names must be unique (got {names}): each names an output file")
    if not segment.is_file() or segment.stat().st_size == 0:
        raise InvalidMediaError(f"{segment.name}: missing or empty; send a video segment")
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        container = av.open(str(segment))
    except av.error.FFmpegError as exc:
        raise InvalidMediaError(f"{segment.name}: not a readable video ({exc})") from exc
    with container:
        if not container.streams.video:
            raise InvalidMediaError(f"{segment.name}: no video stream to transcode")
        audio = _audio_format(container)
        workers = [
            EncoderThread(EncoderFactory(s, out_dir / f"{s.name}.mp4", audio, preset=preset, threads=threads))
            for s in specs
        ]
        for worker in workers:
            worker.start()
        try:
            _pump(segment, container, workers, specs, audio, video_filter)
        finally:
            for worker in workers:
                worker.inbox.put(None)
            for worker in workers:
                worker.join()  # nothing writes to out_dir after we return or raise
        return _collect(workers, specs)


def _audio_format(container: av.container.InputContainer) -> AudioFormat | None:
    if not container.streams.audio:
        return None
    ctx = container.streams.audio[0].codec_context
    if not ctx.sample_rate:
        return None
    return AudioFormat(rate=ctx.sample_rate, layout="mono" if ctx.channels == 1 else "stereo")


def _pump(
    segment: Path,
    container: av.container.InputContainer,
    workers: list[EncoderThread],
    specs: tuple[RenditionSpec, ...],
    audio: AudioFormat | None,
    video_filter: VideoFilter | None = None,
) -> None:
    """Decode the segment and hand every frame (or what `video_filter` makes of it) to
    every encoder thread."""
    vin = container.streams.video[0]
    vin.thread_type = "AUTO"
    ain = container.streams.audio[0] if audio is not None else None
    rate = vin.average_rate or vin.guessed_rate
    frame_time = 1 / float(rate) if rate else 1 / 30
    resampler = (
        av.AudioResampler(format="fltp", layout=audio.layout, rate=audio.rate, frame_size=_AAC_FRAME)
        if audio is not None
        else None
    )
    pending: tuple[av.VideoFrame, float] | None = None
    end = 0.0  # where the last decoded frame ends: a picture held to the end lasts to here
    decoded: float | None = None  # the time of the frame decoded before
    audio_pts: int | None = None

    def send_video(frame: av.VideoFrame, t0: float, t1: float) -> None:
        for worker, spec in zip(workers, specs):
            worker.inbox.put(("video", frame, frame_slots(t0, t1, spec.fps)))

    def send_audio(frames: list[av.AudioFrame]) -> None:
        nonlocal audio_pts
        for frame in frames:
            if audio_pts is None:
                audio_pts = round(float(frame.time or 0.0) * frame.sample_rate)
            samples = frame.to_ndarray()
            for worker in workers:
                worker.inbox.put(("audio", samples, audio_pts))
            audio_pts += frame.samples

    try:
        for packet in container.demux([s for s in (vin, ain) if s is not None]):
            if packet.stream is vin:
                for frame in packet.decode():
                    if not isinstance(frame, av.VideoFrame) or frame.time is None:
                        continue
                    t = float(frame.time)
                    if decoded is not None and t > decoded:
                        frame_time = max(t - decoded, 1e-3)
                    decoded = t
                    if video_filter is not None:
                        length = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else 0.0
                        shown = video_filter(frame, t) if pending is not None else _first(video_filter, frame, t)
                        end = max(end, t + (length or frame_time))
                        if shown is None:
                            continue
                        frame = shown
                    if pending is not None:
                        send_video(pending[0], pending[1], max(t, pending[1]))
                    pending = (frame, t)
            elif resampler is not None:
                for frame in packet.decode():
                    if isinstance(frame, av.AudioFrame):
                        send_audio(resampler.resample(frame))
        if resampler is not None:
            send_audio(resampler.resample(None))
    except av.error.InvalidDataError as exc:
        raise InvalidMediaError(f"{segment.name}: the video does not decode ({exc}); the file may be damaged") from exc
    except av.error.FFmpegError as exc:
        raise TranscodeError(f"{segment.name}: decoding failed: {exc}") from exc
    if pending is None:
        raise InvalidMediaError(f"{segment.name}: no video frame decodes; send a valid segment")
    last, t = pending
    if video_filter is not None:
        send_video(last, t, max(end, t + frame_time))
        return
    length = float(last.duration * last.time_base) if last.duration and last.time_base else frame_time
    send_video(last, t, t + length)


def _first(video_filter: VideoFilter, frame: av.VideoFrame, t: float) -> av.VideoFrame:
    """A segment's first picture cannot be dropped: nothing would be held before it."""
    shown = video_filter(frame, t)
    if shown is None:
        raise TranscodeError("the video filter dropped the segment's first frame; it must return a picture for it")
    return shown


def _collect(workers: list[EncoderThread], specs: tuple[RenditionSpec, ...]) -> list[RenditionOutput]:
    outputs: list[RenditionOutput] = []
    failures: list[str] = []
    for worker, spec in zip(workers, specs):
        try:
            outputs.append(worker.result())
        except MediaError:
            raise
        except Exception as exc:  # noqa: BLE001 - any encoder failure becomes a TranscodeError
            failures.append(f"{spec.name} ({spec.width}x{spec.height}): {type(exc).__name__}: {exc}")
    if failures:
        raise TranscodeError(
            f"encoding failed: {'; '.join(failures)}; check the rendition specs (even sizes) and free disk space"
        )
    return outputs
