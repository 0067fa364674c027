"""PSNR maths, alone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from framemesh.media.psnr import PSNR_CAP, psnr


def test_identical_pictures_hit_the_cap() -> None:
    a = np.arange(64, dtype=np.uint8).reshape(8, 8)
    assert psnr(a, a.copy()) == PSNR_CAP


def test_known_error() -> None:
    a = np.zeros((4, 4), dtype=np.uint8)
    b = np.full((4, 4), 1, dtype=np.uint8)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2))  # MSE 1 -> 48.13 dB
    c = np.full((4, 4), 255, dtype=np.uint8)
    assert psnr(a, c) == pytest.approx(0.0)


def test_no_uint8_wraparound() -> None:
    a = np.full((2, 2), 10, dtype=np.uint8)
    b = np.full((2, 2), 20, dtype=np.uint8)
    assert psnr(a, b) == pytest.approx(psnr(b, a)) == pytest.approx(10 * math.log10(255**2 / 100))


def test_more_noise_lowers_psnr() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, size=(32, 32)).astype(np.uint8)
    small = np.clip(a.astype(int) + rng.integers(-2, 3, size=a.shape), 0, 255).astype(np.uint8)
    large = np.clip(a.astype(int) + rng.integers(-40, 41, size=a.shape), 0, 255).astype(np.uint8)
    assert psnr(a, small) > 40 > psnr(a, large) > 15


def test_shape_mismatch_and_empty_are_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        psnr(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="empty"):
        psnr(np.zeros((0, 2)), np.zeros((0, 2)))
