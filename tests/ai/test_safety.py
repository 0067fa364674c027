from __future__ import annotations

import pytest

from framemesh.ai.safety import verdict


def test_verdict_flags_exposed_parts_above_the_threshold() -> None:
    assert verdict([{"class": "FEMALE_BREAST_EXPOSED", "score": 0.8, "box": [0, 0, 1, 1]}])
    assert not verdict([{"class": "FEMALE_BREAST_EXPOSED", "score": 0.3, "box": [0, 0, 1, 1]}])
    assert not verdict([{"class": "FACE_FEMALE", "score": 0.99, "box": [0, 0, 1, 1]}])
    assert not verdict([{"class": "BELLY_COVERED", "score": 0.99, "box": [0, 0, 1, 1]}])
    assert not verdict([])


def test_the_real_detector_runs_and_clears_a_landscape() -> None:
    pytest.importorskip("nudenet")
    from PIL import Image, ImageDraw

    from framemesh.ai.safety import SafetyChecker

    img = Image.new("RGB", (320, 180), (90, 150, 230))
    ImageDraw.Draw(img).rectangle((0, 120, 320, 180), fill=(40, 160, 60))
    checker = SafetyChecker()
    detections = checker.detect(img)
    assert isinstance(detections, list)
    assert checker.is_nsfw(img) is False
