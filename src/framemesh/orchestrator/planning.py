"""What a segment will become, worked out before any work is done (for its price)."""

from __future__ import annotations

from pathlib import Path

from framemesh.media.probe import probe
from framemesh.media.profiles import RenditionSpec, parse_profiles, plan_renditions


def plan_segment(segment: Path, profiles: tuple[str, ...]) -> tuple[tuple[RenditionSpec, ...], float]:
    """The renditions a segment will be transcoded to, and its duration in seconds."""
    info = probe(segment)
    assert info.video is not None  # probe() refuses files without video
    return plan_renditions(info.video.width, info.video.height, parse_profiles(list(profiles))), info.duration
