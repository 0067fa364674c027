"""Rendition profiles and ladder planning. Pure: no I/O, no PyAV.

A *profile* is a named rung of an adaptive ladder ("720p"): a target picture height,
bitrates and frame rate, the same for every source. A *rendition spec* is a profile
applied to one source: exact output width and height, keeping the source's aspect
ratio, never upscaling, with even dimensions because H.264 in yuv420p needs them.

Portrait sources: the profile height applies to the *shorter* side, as in Livepeer,
so "720p" of a 1080x1920 phone video is 720x1280 — the same pixel budget as the
landscape rung, and the name keeps meaning "this much detail".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from framemesh.media.errors import UnknownProfileError


@dataclass(frozen=True)
class Profile:
    """A named ladder rung. Bitrates are in bits per second."""

    name: str
    height: int
    video_bitrate: int
    fps: int = 30
    audio_bitrate: int = 96_000


# Bitrates in the range of Livepeer's standard ladder (H.264 High, 30 fps).
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("1080p", 1080, 6_000_000, audio_bitrate=128_000),
        Profile("720p", 720, 3_000_000, audio_bitrate=128_000),
        Profile("480p", 480, 1_600_000, audio_bitrate=96_000),
        Profile("360p", 360, 800_000, audio_bitrate=64_000),
        Profile("240p", 240, 250_000, audio_bitrate=64_000),
    )
}


@dataclass(frozen=True)
class RenditionSpec:
    """One profile applied to one source: what a transcoder must produce."""

    name: str
    width: int
    height: int
    video_bitrate: int
    audio_bitrate: int
    fps: int = 30

    @property
    def pixels_per_second(self) -> int:
        """Output pixels per second of video: the unit transcoding work is priced in."""
        return self.width * self.height * self.fps


def parse_profiles(spec: str | Sequence[str]) -> tuple[Profile, ...]:
    """Turn "720p,480p" (or ["720p", "480p"]) into profiles, highest first, no repeats.

    Names are matched case-insensitively and surrounding spaces are ignored.
    Raises UnknownProfileError naming the bad entries and the valid names.
    """
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    cleaned = [str(n).strip().lower() for n in names]
    cleaned = [n for n in cleaned if n]
    valid = ", ".join(PROFILES)
    if not cleaned:
        raise UnknownProfileError(f"no profile given; name one or more of: {valid}")
    unknown = [n for n in cleaned if n not in PROFILES]
    if unknown:
        raise UnknownProfileError(
            f"unknown profile {', '.join(repr(n) for n in unknown)}; valid profiles are: {valid}"
        )
    unique = {PROFILES[n] for n in cleaned}
    return tuple(sorted(unique, key=lambda p: (p.height, p.video_bitrate), reverse=True))


def _even_floor(value: int) -> int:
    return max(2, value - value % 2)


def _scaled(long_side: int, short_side: int, target_short: int) -> int:
    """The long side for a short side of `target_short`, aspect kept, even, <= long_side."""
    exact = long_side * target_short / short_side
    rounded = 2 * round(exact / 2)
    return max(2, min(rounded, _even_floor(long_side)))


def plan_renditions(
    source_width: int, source_height: int, profiles: Sequence[Profile]
) -> tuple[RenditionSpec, ...]:
    """The renditions to make of a `source_width` x `source_height` source.

    A profile taller (on the short side) than the source is dropped: upscaling spends
    bits on detail that is not there. If every profile is too tall, the lowest one is
    kept at the source's own size (rounded down to even), so the ladder is never empty.
    Output is highest first, one spec per distinct size.
    """
    if source_width < 2 or source_height < 2:
        raise ValueError(f"source size {source_width}x{source_height} is too small to transcode")
    if not profiles:
        raise UnknownProfileError(f"no profile given; name one or more of: {', '.join(PROFILES)}")
    portrait = source_height > source_width
    short, long = (source_width, source_height) if portrait else (source_height, source_width)
    ordered = sorted(set(profiles), key=lambda p: (p.height, p.video_bitrate), reverse=True)
    fitting = [p for p in ordered if p.height <= short]
    if fitting:
        chosen = [(p, p.height) for p in fitting]
    else:
        chosen = [(ordered[-1], _even_floor(short))]
    specs: list[RenditionSpec] = []
    seen: set[tuple[int, int]] = set()
    for profile, target_short in chosen:
        target_long = _scaled(long, short, target_short)
        width, height = (target_short, target_long) if portrait else (target_long, target_short)
        if (width, height) in seen:
            continue
        seen.add((width, height))
        specs.append(
            RenditionSpec(
                name=profile.name,
                width=width,
                height=height,
                video_bitrate=profile.video_bitrate,
                audio_bitrate=profile.audio_bitrate,
                fps=profile.fps,
            )
        )
    return tuple(specs)
