"""Shared small clips and the artefacts made from them, built once per session.

The source is 640x360, 6 s, 30 fps, a keyframe every 2 s, with a tone: three 2 s
segments, two renditions (360p is the source size, 240p a downscale).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from framemesh.media.encoder import RenditionOutput
from framemesh.media.profiles import RenditionSpec, parse_profiles, plan_renditions
from framemesh.media.segment import SegmentInfo, split_segments
from framemesh.media.testclip import make_test_clip
from framemesh.media.transcode import transcode_segment

CLIP_SECONDS = 6.0
CLIP_W, CLIP_H = 640, 360


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_clip(
        tmp_path_factory.mktemp("clip") / "clip.mp4", duration=CLIP_SECONDS, width=CLIP_W, height=CLIP_H
    )


@pytest.fixture(scope="session")
def specs() -> tuple[RenditionSpec, ...]:
    return plan_renditions(CLIP_W, CLIP_H, parse_profiles("360p,240p"))


@pytest.fixture(scope="session")
def segments(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> list[SegmentInfo]:
    return split_segments(clip, tmp_path_factory.mktemp("segments"))


@pytest.fixture(scope="session")
def transcoded(
    segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...], tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, RenditionOutput]]:
    """Per segment index: rendition name -> output."""
    root = tmp_path_factory.mktemp("renditions")
    return [
        {o.name: o for o in transcode_segment(s.path, specs, root / f"{s.index:05d}", preset="ultrafast")}
        for s in segments
    ]
