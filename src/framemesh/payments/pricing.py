"""What a job costs, computed the same way by the gateway (to pay) and the
orchestrator (to charge). No I/O.

Transcoding is priced per output pixel, Livepeer's unit: for each rendition
width × height × frames, frames being the segment's duration at the rendition's
frame rate, rounded up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Protocol


class SizedRendition(Protocol):
    width: int
    height: int
    fps: int


def output_pixels(renditions: Iterable[SizedRendition], duration: float) -> int:
    if duration < 0:
        raise ValueError(f"a duration is never negative, got {duration}")
    # Rounded to the microsecond first, so 2.0000000001 s is not one frame more.
    return sum(r.width * r.height * math.ceil(round(duration * r.fps, 6)) for r in renditions)


def transcode_price(price_per_pixel: int, renditions: Iterable[SizedRendition], duration: float) -> int:
    """Wei for transcoding `duration` seconds into `renditions`."""
    if price_per_pixel < 0:
        raise ValueError("a price is never negative")
    return price_per_pixel * output_pixels(renditions, duration)
