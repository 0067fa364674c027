from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framemesh.ai import units


def test_image_units_are_output_pixels_times_images() -> None:
    assert units.image_units(1024, 576, 2) == 1024 * 576 * 2


def test_video_units_count_every_frame() -> None:
    assert units.video_units(1024, 576, 14) == 1024 * 576 * 14
    assert units.video_units(64, 64, 4, num_videos=2) == 64 * 64 * 8


def test_upscale_units_are_input_pixels() -> None:
    assert units.upscale_units(320, 180) == 57_600


def test_audio_units_are_milliseconds_rounded_up() -> None:
    assert units.audio_units(1.5) == 1500
    assert units.audio_units(0.0001) == 1
    assert units.audio_units(0) == 0


def test_speech_and_llm_units() -> None:
    assert units.speech_units("héllo") == 5
    assert units.llm_units(10, 5) == 15


@pytest.mark.parametrize("call", [
    lambda: units.image_units(0, 8),
    lambda: units.image_units(8, 8, 0),
    lambda: units.audio_units(-1),
    lambda: units.llm_units(-1, 0),
])
def test_impossible_amounts_raise(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()


@given(st.integers(1, 4096), st.integers(1, 4096), st.integers(1, 8))
def test_image_units_scale_linearly_with_images(w: int, h: int, n: int) -> None:
    assert units.image_units(w, h, n) == n * units.image_units(w, h)


@given(st.floats(0, 10_000, allow_nan=False))
def test_audio_units_cover_the_duration(seconds: float) -> None:
    ms = units.audio_units(seconds)
    assert ms >= seconds * 1000 - 1e-6
    assert ms < seconds * 1000 + 1
