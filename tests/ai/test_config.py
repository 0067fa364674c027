from __future__ import annotations

from pathlib import Path

import pytest

from framemesh.ai.config import ModelOptions, load_config, parse_config
from framemesh.ai.errors import ConfigError


def _model(**over: object) -> dict[str, object]:
    entry: dict[str, object] = {"pipeline": "text-to-speech", "model_id": "piper/en_US-joe-medium"}
    entry.update(over)
    return entry


def test_a_full_file_parses(tmp_path: Path) -> None:
    (tmp_path / "sd").mkdir()
    (tmp_path / "models.toml").write_text(
        """
cache_dir = "cache"
[[models]]
pipeline = "text-to-image"
model_id = "me/sd"
path = "sd"
price_per_unit = 7
warm = false
capacity = 2
[models.options]
layered_scale = 2
refine_strength = 0.3
similar_threshold = 1

[[models]]
pipeline = "audio-to-text"
model_id = "pocketsphinx/en-us"
"""
    )
    config = load_config(tmp_path / "models.toml")
    sd = config.find("text-to-image", "me/sd")
    assert sd is not None
    assert sd.path == (tmp_path / "sd").resolve()
    assert (sd.price_per_unit, sd.warm, sd.capacity) == (7, False, 2)
    assert sd.options == ModelOptions(layered_scale=2, refine_strength=0.3, similar_threshold=1.0)
    asr = config.find("audio-to-text", "pocketsphinx/en-us")
    assert asr is not None and asr.path is None and asr.warm
    assert config.cache_dir == tmp_path / "cache"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"models": []}, r"^models: add at least one"),
        ({"models": [_model()], "cache": "x"}, r"^cache: unknown key"),
        ({"models": [_model(pipeline="text-to-music")]}, r"^models\[0\]\.pipeline: unknown 'text-to-music'"),
        ({"models": [_model(model_id="me/voice")]}, r"^models\[0\]\.path: missing.*built-ins: piper/en_US-joe-medium"),
        ({"models": [_model(path="nope")]}, r"^models\[0\]\.path: .*nope is not a directory"),
        ({"models": [_model(price_per_unit=-1)]}, r"^models\[0\]\.price_per_unit: must be an integer >= 0"),
        ({"models": [_model(price_per_unit=0.5)]}, r"^models\[0\]\.price_per_unit"),
        ({"models": [_model(capacity=0)]}, r"^models\[0\]\.capacity: must be an integer >= 1"),
        ({"models": [_model(warm="yes")]}, r"^models\[0\]\.warm: must be true or false"),
        ({"models": [_model(), _model()]}, r"^models\[1\]: text-to-speech .* is listed twice"),
        ({"models": [_model(options={"layered_scale": 3})]}, r"^models\[0\]\.options\.layered_scale: must be 1, 2 or 4, got 3"),
        ({"models": [_model(options={"turbo": True})]}, r"^models\[0\]\.options\.turbo: unknown key"),
        ({"models": [_model(options={"result_cache": 1})]}, r"^models\[0\]\.options\.result_cache: must be bool"),
        ({"models": [_model(options={"similar_threshold": 2})]}, r"similar_threshold: must be in 0\.\.1"),
        ({"models": [_model(options={"auto_steps_min": 9, "auto_steps_max": 3})]}, r"auto_steps_min/auto_steps_max"),
        ({"cache_max_mb": 0, "models": [_model()]}, r"^cache_max_mb: must be a whole number of MiB"),
        ({"cache_max_mb": "1G", "models": [_model()]}, r"^cache_max_mb: must be a whole number of MiB"),
    ],
)
def test_errors_name_the_bad_key(raw: dict[str, object], message: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(raw, base=tmp_path)


def test_unreadable_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[models]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_an_image_to_video_model_says_its_default_frames(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from framemesh.ai.config import ModelSpec
    from framemesh.ai.requests import ImageToVideoRequest, with_default_frames

    (tmp_path / "svd" / "unet").mkdir(parents=True)
    (tmp_path / "svd" / "unet" / "config.json").write_text(json.dumps({"num_frames": 7}))
    spec = ModelSpec("image-to-video", "svd", path=tmp_path / "svd")
    assert spec.default_frames == 7
    assert ModelSpec("image-to-video", "x", path=tmp_path / "missing").default_frames is None
    assert ModelSpec("upscale", "realesrgan/x2").default_frames is None
    request = ImageToVideoRequest(image=b"png", width=64, height=64)
    assert with_default_frames(request, 7).units() == 64 * 64 * 7
    assert with_default_frames(ImageToVideoRequest(image=b"png", width=64, height=64, num_frames=3), 7).num_frames == 3
