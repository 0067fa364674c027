"""Which frames a slow model gets: as many as the budget allows, evenly spread."""

from __future__ import annotations

import pytest

from framemesh.ai.live_pacing import FrameCost, FramePacer, drop_share


def run(pacer: FramePacer, fps: float, frame_cost: float, decode_cost: float = 0.0) -> list[float]:
    """Feed one segment's frames at `fps`; a processed frame costs `frame_cost` seconds,
    every frame `decode_cost`. Returns the times of the frames processed."""
    clock, taken = 0.0, []
    for i in range(round(pacer.duration * fps)):
        t = i / fps
        clock += decode_cost
        if pacer.take(t):
            clock += frame_cost
            pacer.done(t, clock)
            taken.append(t)
    return taken


def test_a_model_that_keeps_up_sees_every_frame() -> None:
    pacer = FramePacer(duration=2.0, budget=1.2, max_fps=30)
    taken = run(pacer, 30, frame_cost=0.01)
    assert len(taken) == 60 and pacer.dropped == 0


def test_a_slow_model_gets_what_the_budget_buys_spread_over_the_segment() -> None:
    pacer = FramePacer(duration=2.0, budget=1.0, max_fps=30)
    taken = run(pacer, 30, frame_cost=0.1)
    # 1.0 s of budget at 0.1 s a frame: about 10 frames, not the first 10 then a freeze
    assert 8 <= len(taken) <= 11
    assert taken[-1] >= 1.5, f"the last processed frame is at {taken[-1]} s: the end of the segment froze"
    gaps = [b - a for a, b in zip(taken, taken[1:])]
    assert max(gaps) <= 3 * min(gaps), gaps
    assert pacer.dropped == 60 - len(taken)


def test_the_cost_learnt_carries_to_the_next_segment() -> None:
    cost = FrameCost()
    first = FramePacer(duration=2.0, budget=1.0, max_fps=30, cost=cost)
    run(first, 30, frame_cost=0.1)
    second = FramePacer(duration=2.0, budget=1.0, max_fps=30, cost=cost)
    taken = run(second, 30, frame_cost=0.1)
    # planned from the first frame on: the second frame is already spaced out
    assert taken[1] >= 0.15
    assert 8 <= len(taken) <= 11


def test_the_budget_spent_holds_the_last_frame_to_the_end() -> None:
    pacer = FramePacer(duration=2.0, budget=0.2, max_fps=30)
    taken = run(pacer, 30, frame_cost=0.5)
    # over budget after the first frame: only the mid-way frame that keeps the cost measured
    assert taken == [0.0, 1.0]


def test_one_slow_frame_does_not_starve_the_next_segments() -> None:
    cost = FrameCost()
    first = FramePacer(duration=2.0, budget=1.0, max_fps=30, cost=cost)
    clock, taken = 0.0, []
    for i in range(60):  # a cold first frame of 3 s, then 0.02 s a frame
        if first.take(i / 30):
            clock += 3.0 if not taken else 0.02
            first.done(i / 30, clock)
            taken.append(i)
    assert len(taken) == 2, "the cold frame spent the budget: the rest held"
    later = [len(run(FramePacer(duration=2.0, budget=1.0, max_fps=30, cost=cost), 30, frame_cost=0.02))
             for _ in range(3)]
    assert later[0] > 2 and later[-1] >= 45, later  # back to what the budget buys at its real speed (50)


def test_max_fps_caps_a_fast_model() -> None:
    pacer = FramePacer(duration=2.0, budget=2.0, max_fps=10)
    taken = run(pacer, 30, frame_cost=0.001)
    assert 19 <= len(taken) <= 21


@pytest.mark.parametrize(("offered", "processed", "share"), [(0, 0, 0.0), (60, 60, 0.0), (60, 15, 0.75)])
def test_drop_share(offered: int, processed: int, share: float) -> None:
    assert drop_share(offered, processed) == share


def test_timestamps_rounded_to_milliseconds_drop_nothing() -> None:
    pacer = FramePacer(duration=1.0, budget=1.0, max_fps=30)
    taken = [t for t in (round(i / 30, 3) for i in range(30)) if pacer.take(t) and not pacer.done(t, 0.001 * (t + 1))]
    assert len(taken) == 30


def test_max_fps_below_the_sources_keeps_that_many_frames() -> None:
    pacer = FramePacer(duration=2.0, budget=2.0, max_fps=24)
    taken = run(pacer, 30, frame_cost=0.001)
    assert 47 <= len(taken) <= 49, len(taken)  # 24 a second of the 30
