"""One rendition's encoder, run on its own thread: scale, encode H.264 (+ AAC), mux fMP4.

x264 and swscale release the GIL, so one thread per rendition keeps every core busy
while the main thread decodes. Each thread owns everything it writes to: its own
`VideoReformatter` (reformatting one shared frame through the frame's built-in
reformatter from several threads crashes FFmpeg), its own codec contexts and its own
output file. Shared decoded frames are only read.

The output is a self-contained fragmented MP4 (init segment, then one fragment per
keyframe) whose timestamps are the source's: a fragment from segment k continues the
one from segment k-1 even when two machines made them.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
from av.video.frame import PictureType
from av.video.reformatter import Interpolation, VideoReformatter

from framemesh.media.profiles import RenditionSpec

# Keep absolute timestamps; one fragment per keyframe; each file decodes alone.
MP4_OPTIONS = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof+frag_discont",
    "avoid_negative_ts": "disabled",
}


@dataclass(frozen=True)
class AudioFormat:
    """What the audio encoders take: planar float at the source's rate and layout."""

    rate: int
    layout: str


@dataclass(frozen=True)
class RenditionOutput:
    """An encoded rendition of one segment. `duration` in seconds."""

    name: str
    path: Path
    width: int
    height: int
    duration: float
    frames: int


class RenditionEncoder:
    """Encodes one rendition into one fMP4 file; call from a single thread."""

    def __init__(
        self, spec: RenditionSpec, path: Path, audio: AudioFormat | None, *, preset: str, threads: int
    ) -> None:
        self.spec, self.path = spec, path
        self.container = av.open(str(path), "w", format="mp4", container_options=dict(MP4_OPTIONS))
        self.video = self.container.add_stream("libx264", rate=spec.fps)
        ctx = self.video.codec_context
        ctx.width, ctx.height, ctx.pix_fmt = spec.width, spec.height, "yuv420p"
        ctx.time_base = Fraction(1, spec.fps)
        ctx.bit_rate = spec.video_bitrate
        ctx.thread_count = threads
        # No B-frames: in a fragmented MP4 their reorder delay becomes a composition
        # offset that moves each file's first picture later by two frames, so segments
        # made apart would no longer meet exactly. Costs a few % of bitrate efficiency.
        self.video.options = {"preset": preset, "forced-idr": "1", "bf": "0"}
        self.audio = None
        self.audio_start: int | None = None  # pts of the first audio sample given
        if audio is not None:
            self.audio = self.container.add_stream("aac", rate=audio.rate, layout=audio.layout)
            self.audio.codec_context.bit_rate = spec.audio_bitrate
            self.audio.codec_context.time_base = Fraction(1, audio.rate)
        self.scaler = VideoReformatter()
        self.frames = 0

    def encode_video(self, frame: av.VideoFrame, slots: range) -> None:
        """Encode `frame` once per output slot (slot n is shown at n / fps seconds)."""
        if not slots:
            return
        scaled = self.scaler.reformat(
            frame,
            width=self.spec.width,
            height=self.spec.height,
            format="yuv420p",
            interpolation=Interpolation.BICUBIC,
            threads=1,
        )
        if scaled is frame:  # same size: never stamp timestamps on the shared frame
            scaled = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
        scaled.time_base = Fraction(1, self.spec.fps)
        for slot in slots:
            scaled.pts = slot
            # the first frame of every rendition segment is a keyframe: it must decode alone
            scaled.pict_type = PictureType.I if self.frames == 0 else PictureType.NONE
            self.container.mux(self.video.encode(scaled))
            self.frames += 1

    def encode_audio(self, samples: np.ndarray, pts: int) -> None:
        """Encode planar float samples (channels x n) starting at `pts` (in samples)."""
        if self.audio is None:
            return
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=self.audio.layout)
        frame.sample_rate = self.audio.rate
        frame.pts = pts
        frame.time_base = Fraction(1, self.audio.rate)
        if self.audio_start is None:
            self.audio_start = pts
        self._mux_audio(self.audio.encode(frame))

    def _mux_audio(self, packets: list[av.Packet]) -> None:
        """Mux AAC packets, minus the encoder's priming packet.

        AAC starts one frame (1024 samples) early with "priming" output; in a segment
        that overlaps the end of the previous segment's audio, so joined renditions
        would have audio timestamps that step back at every boundary. Dropping it
        makes each rendition's audio start exactly at its source audio time; the
        decoder's first output then fades in over that frame, as it would after
        priming anyway.
        """
        assert self.audio_start is not None
        self.container.mux([p for p in packets if p.pts is None or p.pts >= self.audio_start])

    def finish(self) -> RenditionOutput:
        self.container.mux(self.video.encode(None))
        if self.audio is not None and self.audio_start is not None:
            self._mux_audio(self.audio.encode(None))
        self.container.close()
        return RenditionOutput(
            name=self.spec.name,
            path=self.path,
            width=self.spec.width,
            height=self.spec.height,
            duration=self.frames / self.spec.fps,
            frames=self.frames,
        )

    def abort(self) -> None:
        # already failing: the first error is the one to report
        with contextlib.suppress(av.error.FFmpegError, OSError):
            self.container.close()


class EncoderThread(threading.Thread):
    """Feeds one RenditionEncoder from a bounded queue.

    Items: ("video", frame, slots), ("audio", samples, pts), or None to finish. After
    an error the thread keeps draining the queue (so the producer never blocks) and
    keeps the error for `result()` to raise.
    """

    def __init__(self, make_encoder: EncoderFactory) -> None:
        super().__init__(daemon=True)
        self.inbox: queue.Queue[tuple[str, object, object] | None] = queue.Queue(maxsize=16)
        self._make = make_encoder
        self._output: RenditionOutput | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        encoder: RenditionEncoder | None = None
        drained = False
        try:
            encoder = self._make()
            while True:
                item = self.inbox.get()
                if item is None:
                    drained = True
                    break
                kind, payload, at = item
                if kind == "video":
                    encoder.encode_video(payload, at)  # type: ignore[arg-type]
                else:
                    encoder.encode_audio(payload, at)  # type: ignore[arg-type]
            self._output = encoder.finish()
        except BaseException as exc:  # noqa: BLE001 - handed to the producer thread
            self._error = exc
            if encoder is not None:
                encoder.abort()
            while not drained and self.inbox.get() is not None:
                pass

    def result(self) -> RenditionOutput:
        self.join()
        if self._error is not None:
            raise self._error
        assert self._output is not None
        return self._output


class EncoderFactory:
    """Builds a RenditionEncoder inside its thread (so its FFmpeg state is born there)."""

    def __init__(
        self, spec: RenditionSpec, path: Path, audio: AudioFormat | None, *, preset: str, threads: int
    ) -> None:
        self.args = (spec, path, audio)
        self.preset, self.threads = preset, threads

    def __call__(self) -> RenditionEncoder:
        return RenditionEncoder(*self.args, preset=self.preset, threads=self.threads)
