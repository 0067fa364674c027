from collections.abc import Iterator
from pathlib import Path

import pytest

from framemesh.media.testclip import make_test_clip
from tests.e2e.ai_nodes import quiet_third_party
from tests.e2e.clips import CLIP_H, CLIP_SECONDS, CLIP_W


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_clip(
        tmp_path_factory.mktemp("clips") / "clip.mp4", duration=CLIP_SECONDS, width=CLIP_W, height=CLIP_H
    )


@pytest.fixture(scope="session")
def other_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clip of the same shape that shares no picture with `clip`."""
    return make_test_clip(
        tmp_path_factory.mktemp("clips") / "other.mp4", duration=CLIP_SECONDS, width=CLIP_W, height=CLIP_H, seed=7
    )


@pytest.fixture(autouse=True)
def _quiet(request: pytest.FixtureRequest) -> Iterator[None]:
    """In the AI modules: diffusers, transformers and torch warn about their own futures,
    not ours to fix. Elsewhere every warning stays an error."""
    if not request.module.__name__.rsplit(".", 1)[-1].startswith("test_ai_"):
        yield
        return
    with quiet_third_party():
        yield
