"""Fixtures: a dev CA and identities, and one file of each format, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from framemesh.media.profiles import RenditionSpec
from framemesh.media.testclip import make_test_clip
from framemesh.media.transcode import transcode_segment
from framemesh.provenance import DevCA, Identity, init_dev_identity

from .media import picture, write_image, write_mp3, write_wav

ADDRESS = "0x" + "a1" * 20
OTHER_ADDRESS = "0x" + "b2" * 20


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="session")
def identity(keys_dir: Path) -> Identity:
    return init_dev_identity(keys_dir, address=ADDRESS, name="orchestrator-a")


@pytest.fixture(scope="session")
def ca_pem(keys_dir: Path, identity: Identity) -> str:
    return (keys_dir / "ca.pem").read_text()


@pytest.fixture(scope="session")
def dev_ca(keys_dir: Path, identity: Identity) -> DevCA:
    return DevCA.load_or_create(keys_dir)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Unsigned inputs by name: png, jpg, wav, mp3, mp4 (plain), fmp4 (the transcoder's)."""
    d = tmp_path_factory.mktemp("media")
    clip = make_test_clip(d / "source.mp4", duration=2.0, width=320, height=180, fps=15)
    [rendition] = transcode_segment(clip, [RenditionSpec("144p", 256, 144, 200_000, 64_000, fps=15)], d / "out")
    return {
        "png": write_image(d / "image.png", picture()),
        "jpg": write_image(d / "image.jpg", picture(seed=1)),
        "wav": write_wav(d / "speech.wav"),
        "mp3": write_mp3(d / "speech.mp3"),
        "mp4": clip,
        "fmp4": rendition.path,
    }
