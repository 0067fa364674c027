"""Profiles and ladder planning: pure logic, checked with hypothesis invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framemesh.media.errors import MediaError, UnknownProfileError
from framemesh.media.profiles import (
    PROFILES,
    Profile,
    RenditionSpec,
    parse_profiles,
    plan_renditions,
)


def test_profiles_cover_the_standard_ladder() -> None:
    assert list(PROFILES) == ["1080p", "720p", "480p", "360p", "240p"]
    for name, profile in PROFILES.items():
        assert name == f"{profile.height}p"
        assert profile.fps == 30
        assert 64_000 <= profile.audio_bitrate <= 128_000
    assert PROFILES["240p"].video_bitrate == 250_000
    assert PROFILES["1080p"].video_bitrate == 6_000_000
    heights = [p.video_bitrate for p in PROFILES.values()]
    assert heights == sorted(heights, reverse=True)


def test_parse_profiles_string_orders_high_to_low_and_dedupes() -> None:
    got = parse_profiles("360p, 720P,360p,,480p")
    assert [p.name for p in got] == ["720p", "480p", "360p"]


def test_parse_profiles_accepts_a_list() -> None:
    assert parse_profiles(["240p", "1080p"]) == (PROFILES["1080p"], PROFILES["240p"])


def test_unknown_profile_names_the_bad_one_and_the_valid_ones() -> None:
    with pytest.raises(UnknownProfileError) as info:
        parse_profiles("720p,999p")
    text = str(info.value)
    assert "'999p'" in text
    for name in PROFILES:
        assert name in text
    assert isinstance(info.value, MediaError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("spec", ["", " , ", []])
def test_empty_profile_spec_is_refused(spec: str | list[str]) -> None:
    with pytest.raises(UnknownProfileError, match="no profile given"):
        parse_profiles(spec)


def test_plan_for_1080p_source_keeps_every_rung() -> None:
    specs = plan_renditions(1920, 1080, parse_profiles("1080p,720p,480p,360p,240p"))
    assert [(s.name, s.width, s.height) for s in specs] == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
        ("240p", 426, 240),
    ]
    assert specs[1].video_bitrate == PROFILES["720p"].video_bitrate
    assert specs[1].pixels_per_second == 1280 * 720 * 30


def test_plan_drops_profiles_taller_than_the_source() -> None:
    specs = plan_renditions(1280, 720, parse_profiles("1080p,720p,360p"))
    assert [s.name for s in specs] == ["720p", "360p"]


def test_plan_keeps_one_rendition_at_source_size_when_all_are_taller() -> None:
    specs = plan_renditions(320, 180, parse_profiles("720p,360p,240p"))
    assert specs == (
        RenditionSpec("240p", 320, 180, PROFILES["240p"].video_bitrate, PROFILES["240p"].audio_bitrate, 30),
    )


def test_plan_odd_source_rounds_down_to_even() -> None:
    (spec,) = plan_renditions(321, 181, parse_profiles("720p"))
    assert (spec.width, spec.height) == (320, 180)


def test_plan_portrait_applies_height_to_the_short_side() -> None:
    specs = plan_renditions(1080, 1920, parse_profiles("720p,360p"))
    assert [(s.width, s.height) for s in specs] == [(720, 1280), (360, 640)]


def test_plan_refuses_a_degenerate_source() -> None:
    with pytest.raises(ValueError, match="too small"):
        plan_renditions(1, 100, parse_profiles("240p"))


profile_sets = st.lists(st.sampled_from(list(PROFILES.values())), min_size=1, max_size=6)


@given(
    width=st.integers(min_value=2, max_value=7680),
    height=st.integers(min_value=2, max_value=4320),
    profiles=profile_sets,
)
def test_plan_invariants(width: int, height: int, profiles: list[Profile]) -> None:
    specs = plan_renditions(width, height, profiles)
    assert specs, "the ladder is never empty"
    assert len({(s.width, s.height) for s in specs}) == len(specs)
    assert [s.height * s.width for s in specs] == sorted((s.height * s.width for s in specs), reverse=True)
    for s in specs:
        assert s.width % 2 == 0 and s.height % 2 == 0
        assert s.width <= max(2, width) and s.height <= max(2, height)
        assert s.width >= 2 and s.height >= 2
        assert s.name in {p.name for p in profiles}
        # aspect ratio kept within rounding to even on the long side (and the 2 px floor)
        if height <= width:
            assert abs(s.width - width * s.height / height) <= 2 or s.width in (2, width - width % 2)
        else:
            assert abs(s.height - height * s.width / width) <= 2 or s.height in (2, height - height % 2)
    short = min(width, height)
    fitting = {p.name for p in profiles if p.height <= short}
    if fitting:
        assert {s.name for s in specs} == fitting
    else:
        assert len(specs) == 1 and min(specs[0].width, specs[0].height) == max(2, short - short % 2)
