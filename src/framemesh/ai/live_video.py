"""live-video-to-video: AI on a live stream as it plays, one segment at a time.

A segment comes in (MPEG-TS or MP4, as the gateway's ingest cut it) with the
parameters in effect. Its frames are decoded and as many as the time budget allows go
through the model, evenly spread (`live_pacing`); a dropped frame's place is held by
the last processed picture, so the output keeps the source's timeline and frame rate,
never falls behind real time and never shows a grey frame. The result is one
fragmented MP4 segment (H.264, the source's audio as AAC) whose timestamps continue
the stream's, whichever orchestrator made the segment before.

The warm worker keeps per stream what makes the next segment cheaper or steadier:
the cost of a frame (so the next segment is paced from its first frame), the prompt's
embedding and the previous latent (`live_effects`).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from framemesh.ai.errors import InvalidRequest, PipelineFailed
from framemesh.ai.live_effects import FrameEffect, StreamMemories, load_effect
from framemesh.ai.live_pacing import FrameCost, FramePacer, drop_share
from framemesh.ai.pipeline import Pipeline
from framemesh.ai.requests import LiveVideoRequest, LiveVideoResult

PRESET = "superfast"  # what Livepeer's live runner encodes with: speed over bitrate
BITS_PER_PIXEL = 0.1  # per frame: 512x512 at 30 fps is about 0.8 Mb/s
AUDIO_BITRATE = 96_000


class LiveVideoToVideo(Pipeline):
    name = "live-video-to-video"

    def load(self) -> None:
        try:
            import torch
        except ImportError:
            pass
        else:
            # One thread: a live worker shares the cores with decoders, encoders and other
            # workers, and OpenMP's spinning threads crawl when cores are contended
            # (measured: 0.03 s a frame at 128x128 on one thread, 0.1-3 s on two under load).
            torch.set_num_threads(1)
        self._m_effect: FrameEffect = load_effect(self.spec.model_id, self.spec.path, self.spec.options.prompt_embeds_cache)
        self._m_streams = StreamMemories()
        self.loaded = True

    def warmup(self) -> None:
        import numpy as np

        frame = np.full((64, 64, 3), 128, dtype=np.uint8)
        params = {"width": 64, "height": 64} if "width" in getattr(self._m_effect, "PARAMS", ()) else {}
        self._m_effect(frame, params, self._m_streams.get("warmup"))

    def check_params(self, params: dict[str, Any]) -> None:
        if not self.loaded:
            self.load()
        self._m_effect.check(params)

    def _run(self, request: LiveVideoRequest) -> LiveVideoResult:
        import av
        import av.error

        from framemesh.media.errors import MediaError
        from framemesh.media.profiles import RenditionSpec
        from framemesh.media.transcode import transcode_segment

        effect = self._m_effect
        effect.check(request.params)
        memory = self._m_streams.get(request.stream_id or "-")
        cost = memory.values.setdefault("cost", FrameCost())
        with tempfile.TemporaryDirectory(prefix="live-ai-") as tmp:
            source = Path(tmp) / f"in{_suffix(request.video)}"
            source.write_bytes(request.video)
            try:
                with av.open(str(source)) as container:
                    if not container.streams.video:
                        raise InvalidRequest("the segment has no video")
                    stream = container.streams.video[0]
                    rate = float(stream.average_rate or stream.guessed_rate or 30)
                    width, height = stream.codec_context.width, stream.codec_context.height
                    duration = request.duration or _duration(container, stream)
            except av.error.FFmpegError as exc:
                raise InvalidRequest(f"the segment is not a readable video: {exc}") from None
            out_w, out_h = effect.output_size(request.params, width, height)
            fps = max(1, min(30, round(rate)))
            budget = request.budget if request.budget is not None else 0.6 * duration
            pacer = FramePacer(duration, budget, min(request.max_fps, rate), cost=cost)
            started = time.perf_counter()
            first: list[float] = []
            last = [0.0]

            def through_model(frame: Any, t: float) -> Any:
                if not first:
                    first.append(t)
                rel = last[0] = t - first[0]
                if not pacer.take(rel):
                    return None
                picture = effect(frame.to_ndarray(format="rgb24"), request.params, memory)
                pacer.done(rel, time.perf_counter() - started)
                return av.VideoFrame.from_ndarray(picture, format="rgb24")

            spec = RenditionSpec(
                "ai", out_w - out_w % 2, out_h - out_h % 2, max(100_000, int(out_w * out_h * fps * BITS_PER_PIXEL)),
                AUDIO_BITRATE, fps,
            )
            try:
                [output] = transcode_segment(source, [spec], Path(tmp) / "out", preset=PRESET, threads=1,
                                             video_filter=through_model)
            except MediaError as exc:
                raise PipelineFailed(f"live-video-to-video: {exc}") from None
            seconds = time.perf_counter() - started
            held = last[0] + 1 / rate
            if request.duration is not None and request.duration > held + max(0.25, 0.1 * held):
                # it is paid by its length: a claim of more time than it holds is refused
                raise InvalidRequest(f"the segment holds {held:.3f} s of video, not the {request.duration:.3f} s claimed")
            mp4 = output.path.read_bytes()
        figures = {
            "frames_in": pacer.offered, "frames_out": pacer.processed,
            "fps_in": round(pacer.offered / duration, 3) if duration > 0 else 0.0,
            "fps_out": round(pacer.processed / duration, 3) if duration > 0 else 0.0,
            "dropped": round(drop_share(pacer.offered, pacer.processed), 4), "seconds": round(seconds, 4),
            "duration": duration, "width": spec.width, "height": spec.height,
        }
        return LiveVideoResult(
            mp4=mp4, width=spec.width, height=spec.height, duration=duration, frames_in=pacer.offered,
            frames_out=pacer.processed, fps_in=figures["fps_in"], fps_out=figures["fps_out"],
            dropped=figures["dropped"], seconds=seconds, seed=int(request.params.get("seed", 0) or 0), info=figures,
        )


def _suffix(data: bytes) -> str:
    if data[4:8] == b"ftyp":
        return ".mp4"
    if data[:1] == b"\x47":
        return ".ts"
    return ".mkv" if data[:4] == b"\x1a\x45\xdf\xa3" else ".bin"


def _duration(container: Any, stream: Any) -> float:
    """The segment's media length: its stream's, else its container's, else 2 s."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return 2.0
