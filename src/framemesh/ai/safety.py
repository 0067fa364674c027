"""The safety check behind the `nsfw` field: NudeNet's detector (ONNX), a real verdict.

An image is NSFW when NudeNet finds an exposed intimate body part (`UNSAFE_LABELS`)
with a score at or above the threshold. `verdict()` is that rule, pure and testable.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from PIL import Image

from framemesh.ai.errors import ModelLoadError

UNSAFE_LABELS = frozenset(
    {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)
THRESHOLD = 0.5


def verdict(detections: Iterable[dict[str, Any]], threshold: float = THRESHOLD) -> bool:
    """True when any detection is an unsafe label scored >= threshold."""
    return any(d["class"] in UNSAFE_LABELS and d["score"] >= threshold for d in detections)


class SafetyChecker:
    def __init__(self, threshold: float = THRESHOLD) -> None:
        try:
            from nudenet import NudeDetector
        except ImportError as exc:
            raise ModelLoadError(f"nudenet is not installed: {exc}") from None
        self.threshold = threshold
        self._detector = NudeDetector()

    def detect(self, image: Image.Image) -> list[dict[str, Any]]:
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        return list(self._detector.detect(bgr))

    def is_nsfw(self, image: Image.Image) -> bool:
        return verdict(self.detect(image), self.threshold)
