"""mux: a clip and its narration made into one MP4, with PyAV (no model)."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image

from framemesh.ai.config import ModelSpec
from framemesh.ai.errors import InvalidRequest
from framemesh.ai.media import decode_audio, encode_video, encode_wav, video_info
from framemesh.ai.requests import MuxRequest


def _clip(frames: int = 12, fps: int = 6) -> bytes:
    return encode_video([Image.new("RGB", (48, 32), (10 * i, 200, 40)) for i in range(frames)], fps)


def _tone(seconds: float, rate: int = 22_050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return encode_wav((np.sin(2 * np.pi * 440 * t) * 12_000).astype(np.int16), rate)


def _durations(mp4: bytes) -> dict[str, float]:
    with av.open(io.BytesIO(mp4)) as container:
        return {s.type: float(s.duration * s.time_base) for s in container.streams}


def test_the_last_frame_is_held_until_the_narration_ends(loaded) -> None:  # type: ignore[no-untyped-def]
    request = MuxRequest(video=_clip(12), audio=_tone(3.0))  # 2 s of video, 3 s of speech
    assert request.units() == 3000, "milliseconds of the result"
    result = loaded(ModelSpec("mux", "framemesh/mux")).run(request)
    info = video_info(result.mp4)
    assert (info.width, info.height, info.frames) == (48, 32, 18)
    lengths = _durations(result.mp4)
    assert lengths["video"] == pytest.approx(3.0, abs=0.01) and lengths["audio"] == pytest.approx(3.0, abs=0.05)
    heard = decode_audio(result.mp4)
    assert np.abs(heard.samples).max() > 0.2, "the tone is in the file"


def test_fit_video_cuts_the_audio(loaded) -> None:  # type: ignore[no-untyped-def]
    request = MuxRequest(video=_clip(12), audio=_tone(3.0), fit="video")
    assert request.units() == 2000
    result = loaded(ModelSpec("mux", "framemesh/mux")).run(request)
    lengths = _durations(result.mp4)
    assert lengths["video"] == pytest.approx(2.0, abs=0.01) and lengths["audio"] == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"video": b"", "audio": b"x"}, "video is empty"),
        ({"video": b"RIFFjunk", "audio": b"x"}, "video is not a decodable video"),
        ({"audio": b"junk"}, "audio is not a decodable audio file"),
        ({"fit": "both"}, "fit must be 'audio' or 'video'"),
    ],
)
def test_bad_inputs_are_refused(fields: dict[str, object], words: str) -> None:
    base = {"video": _clip(4), "audio": _tone(0.5)}
    with pytest.raises(InvalidRequest, match=words):
        MuxRequest(**{**base, **fields}).check()  # type: ignore[arg-type]
