"""text-to-image, image-to-image and image-to-video with tiny real models, loaded
through the real path (from_pretrained on the written directories), and the cost
savers that live inside the pipelines."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("diffusers")

from framemesh.ai.config import ModelOptions  # noqa: E402
from framemesh.ai.errors import InvalidRequest, ModelLoadError  # noqa: E402
from framemesh.ai.requests import (  # noqa: E402
    ImageToImageRequest,
    ImageToVideoRequest,
    TextToImageRequest,
)
from framemesh.ai.tiny import SD_ID, SVD_ID  # noqa: E402
from tests.ai.conftest import image_of, png  # noqa: E402


@pytest.fixture(scope="module")
def t2i(loaded, tiny_config):  # type: ignore[no-untyped-def]
    return loaded(tiny_config.find("text-to-image", SD_ID))


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(image_of(data).convert("RGB"), dtype=np.int16)


def test_text_to_image_has_the_asked_shape_and_seeds(t2i) -> None:  # type: ignore[no-untyped-def]
    result = t2i.run(TextToImageRequest(prompt="a cat", width=64, height=32, seed=7, num_inference_steps=2, num_images_per_prompt=2))
    assert [image_of(i.png).size for i in result.images] == [(64, 32), (64, 32)]
    assert [i.seed for i in result.images] == [7, 8]
    assert all(i.nsfw is False for i in result.images)
    assert result.info["steps"] == 2
    assert not np.array_equal(_pixels(result.images[0].png), _pixels(result.images[1].png))


def test_same_seed_same_image_other_seed_other_image(t2i) -> None:  # type: ignore[no-untyped-def]
    request = TextToImageRequest(prompt="a cat", width=32, height=32, seed=3, num_inference_steps=2)
    a, b = t2i.run(request), t2i.run(request)
    assert a.images[0].png == b.images[0].png
    c = t2i.run(dataclasses.replace(request, seed=4))
    assert c.images[0].png != a.images[0].png
    d = t2i.run(dataclasses.replace(request, seed=None))
    assert 0 <= d.images[0].seed < 2**32


def test_prompt_embeddings_are_cached(t2i) -> None:  # type: ignore[no-untyped-def]
    cache = t2i.embeddings_cache
    before = cache.hits
    t2i.run(TextToImageRequest(prompt="a lighthouse", width=32, height=32, seed=1, num_inference_steps=1))
    assert cache.hits == before
    t2i.run(TextToImageRequest(prompt="a lighthouse", width=32, height=32, seed=2, num_inference_steps=1))
    assert cache.hits == before + 1


def test_without_the_embeddings_cache_the_prompt_goes_in_as_text(loaded, tiny_config, t2i) -> None:  # type: ignore[no-untyped-def]
    base = tiny_config.find("text-to-image", SD_ID)
    uncached = loaded(dataclasses.replace(base, model_id="no-embeds-cache", options=ModelOptions(prompt_embeds_cache=0)))
    request = TextToImageRequest(prompt="a lighthouse", width=32, height=32, seed=1, num_inference_steps=2)
    out = uncached.run(request)
    assert uncached.embeddings_cache.hits == 0
    assert out.images[0].png == t2i.run(request).images[0].png  # same image either way


def test_the_network_chooses_steps_when_asked(t2i) -> None:  # type: ignore[no-untyped-def]
    plain = t2i.run(TextToImageRequest(prompt="a cat", width=32, height=32, seed=1, num_inference_steps=None))
    rich = t2i.run(TextToImageRequest(
        prompt="an old harbour at dawn, 12 fishing boats, gulls, mist over water, copper roofs, oil painting",
        width=32, height=32, seed=1, num_inference_steps=None))
    assert plain.info["auto_steps"] < rich.info["auto_steps"]
    assert 4 <= plain.info["steps"] <= rich.info["steps"] <= 30


def test_bad_input_never_reaches_the_model(t2i) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidRequest, match="width must be a multiple of 8"):
        t2i.run(TextToImageRequest(prompt="a cat", width=30, height=32))


def test_layered_generation_denoises_small_then_upscales(loaded, tiny_config) -> None:  # type: ignore[no-untyped-def]
    base = tiny_config.find("text-to-image", SD_ID)
    layered = loaded(dataclasses.replace(base, model_id="layered", options=ModelOptions(layered_scale=2)))
    refined = loaded(dataclasses.replace(base, model_id="refined", options=ModelOptions(layered_scale=2, refine_strength=0.5)))
    request = TextToImageRequest(prompt="a cat", width=96, height=64, seed=1, num_inference_steps=2)
    out = layered.run(request)
    assert image_of(out.images[0].png).size == (96, 64)
    assert out.info["layered"] == {"low": [48, 32], "scale": 2}
    again = refined.run(request)
    assert image_of(again.images[0].png).size == (96, 64)
    assert again.info["layered"]["refined"] == 0.5
    assert again.images[0].png != out.images[0].png  # the refine pass changed it


def test_a_similar_earlier_prompt_is_refined_instead_of_generated(loaded, tiny_config) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sentence_transformers")
    base = tiny_config.find("text-to-image", SD_ID)
    pipe = loaded(dataclasses.replace(base, model_id="similar", options=ModelOptions(similar_threshold=0.8)))
    first = pipe.run(TextToImageRequest(prompt="a red car on a street", width=32, height=32, seed=1, num_inference_steps=4))
    assert "reused_from" not in first.info
    close = pipe.run(TextToImageRequest(prompt="a red car on the street", width=32, height=32, seed=2, num_inference_steps=4))
    assert close.info["reused_from"] == "a red car on a street"
    far = pipe.run(TextToImageRequest(prompt="a bowl of soup", width=32, height=32, seed=3, num_inference_steps=4))
    assert "reused_from" not in far.info
    other_size = pipe.run(TextToImageRequest(prompt="a red car on the street", width=64, height=32, seed=2, num_inference_steps=4))
    assert "reused_from" not in other_size.info


def test_feature_cache_skips_deep_blocks_between_full_steps(loaded, tiny_config) -> None:  # type: ignore[no-untyped-def]
    base = tiny_config.find("text-to-image", SD_ID)
    plain = loaded(base)
    cached = loaded(dataclasses.replace(base, model_id="deepcache", options=ModelOptions(feature_cache=2)))
    request = TextToImageRequest(prompt="a cat", width=32, height=32, seed=5, num_inference_steps=6)
    out = cached.run(request)
    assert out.info["feature_cache_skipped"] == 3  # steps 2, 4 and 6 reuse deep features
    again = cached.run(request)
    assert again.images[0].png == out.images[0].png  # still deterministic
    assert out.images[0].png != plain.run(request).images[0].png  # and really approximated


def test_image_to_image_keeps_the_input_size(loaded, tiny_config) -> None:  # type: ignore[no-untyped-def]
    i2i = loaded(tiny_config.find("image-to-image", SD_ID))
    request = ImageToImageRequest(prompt="a dog", image=png(42, 33), seed=1, strength=0.5, num_inference_steps=4, num_images_per_prompt=2)
    result = i2i.run(request)
    assert [image_of(i.png).size for i in result.images] == [(40, 32), (40, 32)]
    assert i2i.run(request).images[0].png == result.images[0].png
    with pytest.raises(InvalidRequest, match="image is not an image"):
        i2i.run(dataclasses.replace(request, image=b"GIF89a nonsense"))


def test_image_to_video_makes_frames_of_the_asked_size(loaded, tiny_config) -> None:  # type: ignore[no-untyped-def]
    i2v = loaded(tiny_config.find("image-to-video", SVD_ID))
    request = ImageToVideoRequest(image=png(80, 48), width=64, height=32, seed=9, num_inference_steps=2, num_frames=3, fps=8)
    result = i2v.run(request)
    video = result.videos[0]
    assert len(video.frames) == 3
    assert {image_of(f).size for f in video.frames} == {(64, 32)}
    assert (video.fps, video.seed, video.nsfw) == (8, 9, False)
    assert i2v.run(request).videos[0].frames == video.frames
    default = i2v.run(dataclasses.replace(request, num_frames=None))
    assert len(default.videos[0].frames) == 4 == default.info["num_frames"]  # the UNet's num_frames


def test_a_missing_model_directory_is_a_load_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from framemesh.ai.config import ModelSpec
    from framemesh.ai.pipeline import create_pipeline

    pipe = create_pipeline(ModelSpec("text-to-image", "gone", tmp_path / "nothing"))
    with pytest.raises(ModelLoadError, match="cannot load"):
        pipe.load()


def test_denoising_steps_are_reported_as_they_run(t2i, loaded, tiny_config) -> None:  # type: ignore[no-untyped-def]
    from framemesh.ai.pipeline import Progress

    pieces: list[object] = []
    t2i.run(TextToImageRequest(prompt="a boat", width=32, height=32, num_inference_steps=3, seed=1), pieces.append)
    assert pieces == [Progress(1, 3), Progress(2, 3), Progress(3, 3)]
    assert [p.fraction for p in pieces] == pytest.approx([1 / 3, 2 / 3, 1.0])

    videos: list[Progress] = []
    i2v = loaded(tiny_config.find("image-to-video", SVD_ID))
    request = ImageToVideoRequest(image=png(32, 32), width=32, height=32, num_inference_steps=2, num_videos=2, seed=2)
    i2v.run(request, videos.append)
    assert [(p.done, p.phase, p.phases) for p in videos] == [(1, 1, 2), (2, 1, 2), (1, 2, 2), (2, 2, 2)]
    assert videos[1].fraction == 0.5 and videos[-1].fraction == 1.0, "one job's progress, across both videos"
