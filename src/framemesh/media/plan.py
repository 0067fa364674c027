"""What a video file will become: its renditions for a set of profiles, worked out from
the file itself before any work is done (for a job's plan, and for its price)."""

from __future__ import annotations

from pathlib import Path

from framemesh.media.errors import InvalidMediaError
from framemesh.media.probe import probe
from framemesh.media.profiles import RenditionSpec, parse_profiles, plan_renditions


def plan_file(path: Path, profiles: tuple[str, ...] | list[str]) -> tuple[tuple[RenditionSpec, ...], float]:
    """The renditions `path` becomes for `profiles` (never upscaled), and its duration in
    seconds. Raises InvalidMediaError for a file with no video."""
    info = probe(path)
    if info.video is None:
        raise InvalidMediaError(f"{path.name} has no video stream")
    return plan_renditions(info.video.width, info.video.height, parse_profiles(list(profiles))), info.duration
