"""mux: a video and an audio track made into one MP4 — a generated clip and its
narration, as the last stage of a job. Built-in model `framemesh/mux`: no weights,
FFmpeg's H.264 and AAC encoders through PyAV.
"""

from __future__ import annotations

import numpy as np

from framemesh.ai.media import Audio, decode_audio, decode_video, encode_video
from framemesh.ai.pipeline import Pipeline
from framemesh.ai.requests import MuxRequest, VideoFileResult

RATE = 48_000  # Hz of the muxed audio: AAC's usual rate, above any speech model's


class Mux(Pipeline):
    name = "mux"

    def load(self) -> None:
        import av  # noqa: F401  (a core dependency; fail here rather than mid-job)

        self.loaded = True

    def _run(self, request: MuxRequest) -> VideoFileResult:
        frames, info = decode_video(request.video)
        audio = decode_audio(request.audio, rate=RATE)
        video_seconds = len(frames) / info.fps
        if request.fit == "audio":
            # Hold the last frame until the narration ends: nothing said is cut.
            needed = int(np.ceil(audio.duration * info.fps - 1e-9))
            frames = frames + [frames[-1]] * max(0, needed - len(frames))
        else:
            audio = Audio(samples=audio.samples[: int(video_seconds * RATE)], rate=RATE)
        mp4 = encode_video(frames, info.fps, audio)
        return VideoFileResult(
            mp4=mp4, info={"frames": len(frames), "fps": info.fps, "audio_seconds": round(audio.duration, 3)}
        )
