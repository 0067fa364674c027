from __future__ import annotations

import io
import wave

import numpy as np
import pytest

pytest.importorskip("PIL")

from framemesh.ai import requests as rq  # noqa: E402
from framemesh.ai.errors import InvalidRequest  # noqa: E402
from framemesh.ai.media import decode_audio, decode_image, encode_wav  # noqa: E402
from tests.ai.conftest import png  # noqa: E402


def _wav(seconds: float, rate: int = 22050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return encode_wav((np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16), rate)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (rq.TextToImageRequest(prompt="a cat", width=100, height=64), r"width must be a multiple of 8 .*got 100; try 96 or 104"),
        (rq.TextToImageRequest(prompt="a cat", width=64, height=4), r"height must be 8\.\.2048 pixels, got 4"),
        (rq.TextToImageRequest(prompt="a cat", width=4096, height=64), r"width must be 8\.\.2048"),
        (rq.TextToImageRequest(prompt="a cat", width=2048, height=2048, num_images_per_prompt=9), r"num_images_per_prompt must be 1\.\.8, got 9"),
        (rq.TextToImageRequest(prompt=" "), r"prompt is empty"),
        (rq.TextToImageRequest(prompt="x" * 2001), r"prompt is 2001 characters; the limit is 2000"),
        (rq.TextToImageRequest(prompt="a", negative_prompt="y" * 3000), r"negative_prompt is 3000 characters"),
        (rq.TextToImageRequest(prompt="a", num_inference_steps=0), r"num_inference_steps must be 1\.\.200 \(or null"),
        (rq.TextToImageRequest(prompt="a", seed=-1), r"seed must be 0\.\.2\*\*32-1"),
        (rq.TextToImageRequest(prompt="a", guidance_scale=99), r"guidance_scale must be 0\.\.50"),
        (rq.ImageToImageRequest(prompt="a", image=b"not an image"), r"image is not an image .*PNG, JPEG or WebP"),
        (rq.ImageToImageRequest(prompt="a", image=b""), r"image is empty"),
        (rq.ImageToImageRequest(prompt="a", image=png(4, 4)), r"width must be 8\.\.2048 pixels, got 0"),
        (rq.ImageToImageRequest(prompt="a", image=png(16, 16), strength=0), r"strength must be in \(0, 1\]"),
        (rq.ImageToVideoRequest(image=png(16, 16), fps=0), r"fps must be 1\.\.60"),
        (rq.ImageToVideoRequest(image=png(16, 16), num_frames=1), r"num_frames must be 2\.\.64"),
        (rq.ImageToVideoRequest(image=b"\x89PNG broken"), r"image is not an image"),
        (rq.UpscaleRequest(image=png(2048, 1200)), r"upscale takes at most 1048576 input pixels"),
        (rq.AudioToTextRequest(audio=b"RIFF....WAVEjunk"), r"audio is not a decodable audio file"),
        (rq.AudioToTextRequest(audio=b""), r"audio is empty"),
        (rq.AudioToTextRequest(audio=_wav(0.1), return_timestamps="yes"), r"return_timestamps must be 'true', 'false' or 'word'"),
        (rq.TextToSpeechRequest(text=""), r"text is empty"),
        (rq.TextToSpeechRequest(text="a" * 10_001), r"text is 10001 characters; the limit is 10000"),
    ],
)
def test_bad_requests_say_what_is_wrong(request_: object, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        request_.check()  # type: ignore[attr-defined]


def test_good_requests_pass_and_count_their_units() -> None:
    t2i = rq.TextToImageRequest(prompt="a cat", width=64, height=32, num_images_per_prompt=3)
    t2i.check()
    assert t2i.units() == 64 * 32 * 3
    i2i = rq.ImageToImageRequest(prompt="a cat", image=png(70, 33))
    i2i.check()
    assert rq.output_size(i2i.image) == (64, 32)
    assert i2i.units() == 64 * 32
    up = rq.UpscaleRequest(image=png(32, 18))
    up.check()
    assert up.units() == 32 * 18
    asr = rq.AudioToTextRequest(audio=_wav(1.5))
    asr.check()
    assert asr.units() == 1500
    assert rq.ImageToVideoRequest(image=png(8, 8), width=64, height=64, num_frames=4).units() == 64 * 64 * 4
    assert rq.TextToSpeechRequest(text="hello").units() == 5


def test_a_too_long_recording_is_refused() -> None:
    short_limits = rq.Limits(max_audio_seconds=1.0)
    with pytest.raises(InvalidRequest, match="audio is 2 s long; the limit is 1 s"):
        rq.AudioToTextRequest(audio=_wav(2.0)).check(short_limits)


def test_audio_is_resampled_to_16k_mono() -> None:
    audio = decode_audio(_wav(1.0, rate=44100))
    assert audio.rate == 16000
    assert abs(audio.duration - 1.0) < 0.01
    assert 0.1 < float(np.abs(audio.samples).max()) <= 1.0
    with wave.open(io.BytesIO(_wav(0.5))) as w:
        assert w.getframerate() == 22050


def test_decode_image_refuses_too_many_pixels_and_truncation() -> None:
    with pytest.raises(InvalidRequest, match="64x64 = 4096 pixels; the limit is 100"):
        decode_image(png(64, 64), max_pixels=100)
    data = png(64, 64)
    with pytest.raises(InvalidRequest, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2])
    assert decode_image(data).size == (64, 64)


def test_build_request_ignores_unknown_fields_and_names_bad_ones() -> None:
    from framemesh.ai.errors import UnknownModel

    request = rq.build_request(
        "text-to-image",
        {"prompt": "a cat", "width": "64", "height": 32, "loras": "", "safety_check": True},
    )
    assert request == rq.TextToImageRequest(prompt="a cat", width=64, height=32)
    with pytest.raises(InvalidRequest, match=r"text-to-image request: prompt: Field required"):
        rq.build_request("text-to-image", {"width": 64})
    with pytest.raises(InvalidRequest, match=r"width: Input should be a valid integer"):
        rq.build_request("text-to-image", {"prompt": "a", "width": "wide"})
    upscale = rq.build_request("upscale", {"image": png(8, 8), "prompt": "sharper"})
    assert upscale.units() == 64
    with pytest.raises(UnknownModel, match="no pipeline 'text-to-music'; pipelines: text-to-image"):
        rq.build_request("text-to-music", {})


def test_frames_encode_to_an_mp4_of_the_same_size() -> None:
    av = pytest.importorskip("av")
    from framemesh.ai.media import encode_mp4

    mp4 = encode_mp4([png(64, 32, seed=i) for i in range(5)], fps=8)
    with av.open(io.BytesIO(mp4)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 32)
    assert len(frames) == 5
