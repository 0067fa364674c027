"""Peak signal-to-noise ratio of two pictures. Pure numpy, no I/O.

PSNR on luma is the measure `check` uses to decide whether a rendition is the source
at another size: a faithful encode scores 30-45 dB, a different, shifted or black
picture 5-15 dB, so a threshold in between separates them with a wide margin.
"""

from __future__ import annotations

import math

import numpy as np

# Identical pictures have infinite PSNR; report this instead so results stay finite.
PSNR_CAP = 100.0


def psnr(reference: np.ndarray, candidate: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB between two same-shaped arrays of samples in 0..peak (capped at PSNR_CAP)."""
    if reference.shape != candidate.shape:
        raise ValueError(f"pictures differ in shape: {reference.shape} vs {candidate.shape}")
    if reference.size == 0:
        raise ValueError("cannot compare empty pictures")
    diff = reference.astype(np.float64) - candidate.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return PSNR_CAP
    return min(PSNR_CAP, 10.0 * math.log10(peak * peak / mse))
