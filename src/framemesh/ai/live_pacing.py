"""Which frames of a live segment the model gets: as many as its time budget allows,
evenly spread. Pure.

A model slower than the input cannot see every frame and still keep up with real
time. The pacer spreads the frames it can afford over the segment, so the output
moves evenly instead of running smoothly and then freezing: after each processed
frame it divides what is left of the budget by the frame's cost, and spaces the next
ones over what is left of the segment. The first frame is always processed (a segment
must start on a picture of its own), and a second one mid-way (so the cost keeps being
measured however slow the last frames were); the cost learnt is carried to the next
segment of the stream, so the second segment is planned from the start.
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

KEEP = 5  # frame costs the estimate is the median of
SLACK = 0.0015  # seconds


class FrameCost:
    """The cost of one processed frame, in seconds: the median of the latest few, so one
    slow frame (a cold start, a busy moment) does not starve the frames after it."""

    def __init__(self, keep: int = KEEP) -> None:
        self._samples: deque[float] = deque(maxlen=keep)

    def add(self, seconds: float) -> None:
        self._samples.append(max(seconds, 1e-6))

    @property
    def seconds(self) -> float | None:
        return statistics.median(self._samples) if self._samples else None


@dataclass
class FramePacer:
    """Decides, frame by frame, which frames of one segment are processed.

    `duration`: the segment's length (seconds of media); `budget`: the seconds of
    compute the segment may take; `max_fps`: processed frames per second at most
    (the model's cap, or the source's rate). Feed it the frames in order with
    `take(t)` (t: seconds from the segment's start) and report each processed frame's
    cost with `done(seconds_spent_so_far)`.
    """

    duration: float
    budget: float
    max_fps: float
    cost: FrameCost = field(default_factory=FrameCost)
    processed: int = 0
    offered: int = 0
    _next_due: float = 0.0
    _last_spent: float = 0.0

    def take(self, t: float) -> bool:
        """Whether the frame shown at `t` goes through the model."""
        self.offered += 1
        if self.processed == 0:
            return True
        if self.processed == 1 and t >= self.duration / 2:
            return True  # a second frame each segment, mid-way: the cost keeps being measured
        # slack for timestamps rounded to the container's clock (ms in Matroska): a model
        # that keeps up must not skip every third frame
        return t + SLACK >= self._next_due

    def done(self, t: float, spent: float) -> None:
        """The frame at `t` was processed; `spent`: seconds used by the segment so far."""
        if self.processed > 0 or self.cost.seconds is None:
            # a segment's first frame also paid for opening it: not a frame's cost, once one is known
            self.cost.add(spent - self._last_spent)
        self._last_spent = spent
        self.processed += 1
        step = 1.0 / self.rate(t, spent)
        # on a grid (24 of 30 frames, not every other one), from this frame at the latest
        self._next_due = max(min(self._next_due, t), t - step) + step

    def rate(self, t: float, spent: float) -> float:
        """Processed frames per second affordable from `t` on, with `spent` used."""
        left_media = max(self.duration - t, 1e-3)
        left_budget = self.budget - spent
        cost = self.cost.seconds
        if cost is None:
            return self.max_fps
        if left_budget <= 0:
            return 1e-9  # nothing left: hold the last frame to the end
        return max(1e-9, min(self.max_fps, left_budget / cost / left_media))

    @property
    def dropped(self) -> int:
        return self.offered - self.processed


def drop_share(offered: int, processed: int) -> float:
    """Frames dropped, as a share of the frames offered (0 when none were)."""
    return 0.0 if offered <= 0 else max(0.0, (offered - processed) / offered)
