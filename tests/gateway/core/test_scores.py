"""Performance scores: Livepeer's formulas, the AI k/median rule, and the sliding window (pure)."""

from __future__ import annotations

import math
import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.scores import (
    TRANSCODING,
    Result,
    Scoreboard,
    Work,
    ai_k,
    ai_latency_score,
    ai_score,
    transcode_latency_score,
    transcode_score,
)

T2I = Work.ai("text-to-image", "tiny-sd")


def test_transcode_latency_score_values() -> None:
    assert abs(transcode_latency_score(2.0, 2.0) - (1 - math.exp(-1))) < 1e-12, "back in its own duration: 0.632"
    assert abs(transcode_latency_score(2.0, 4.0) - (1 - math.exp(-0.5))) < 1e-12, "twice as long: 0.393"
    assert transcode_latency_score(2.0, 0.2) > 0.9999, "ten times faster than real time: about 1"
    assert transcode_latency_score(2.0, 0.0) == 1.0
    assert transcode_score(0.5, 0.8) == 0.4


def test_ai_score_weights_success_and_latency() -> None:
    assert abs(ai_score(1.0, 1.0) - 1.0) < 1e-12
    assert abs(ai_score(1.0, 0.0) - 0.65) < 1e-12
    assert abs(ai_score(0.5, 0.8) - (0.65 * 0.5 + 0.35 * 0.8)) < 1e-12
    assert ai_score(0.0, 1.0) == 0.0, "none successful scores 0, as Livepeer's does"


@given(st.lists(st.floats(0.01, 100.0), min_size=1, max_size=50))
def test_the_median_round_trip_scores_0_8(trips: list[float]) -> None:
    board = Scoreboard()
    for i, trip in enumerate(trips):
        board.record(f"o{i % 3}", T2I, Result(0.0, True, trip))
    median = board.median_round_trip(T2I, 0.0)
    k = board.k(T2I, 0.0)
    assert median is not None and k is not None
    assert abs(ai_latency_score(median, k) - 0.8) < 1e-9
    assert abs(k - math.log(1 / 0.8) / median) < 1e-12 and ai_k(median) == k
    # Slower than the median scores lower, faster higher.
    assert ai_latency_score(2 * median, k) < 0.8 < ai_latency_score(median / 2, k)


def test_transcode_score_from_results_keeps_its_inputs() -> None:
    board = Scoreboard()
    for ok, trip in ((True, 1.0), (True, 3.0), (False, None), (True, 2.0)):
        board.record("o", TRANSCODING, Result(10.0, ok, trip, 2.0 if ok else None))
    s = board.score("o", TRANSCODING, 10.0)
    assert s is not None
    assert s.samples == 4 and s.success_rate == 0.75
    assert s.round_trip_mean == 2.0 and s.round_trip_p50 == 2.0 and s.segment_duration == 2.0
    assert abs(s.latency_score - (1 - math.exp(-1))) < 1e-12
    assert abs(s.score - 0.75 * (1 - math.exp(-1))) < 1e-12


def test_ai_scores_are_per_pipeline_and_model_and_the_median_is_everyones() -> None:
    board = Scoreboard()
    other = Work.ai("text-to-image", "big-sd")
    for _ in range(5):
        board.record("fast", T2I, Result(0.0, True, 1.0))
        board.record("slow", T2I, Result(0.0, True, 4.0))
        board.record("slow", other, Result(0.0, True, 100.0))
    fast, slow = board.score("fast", T2I, 0.0), board.score("slow", T2I, 0.0)
    assert fast is not None and slow is not None
    assert board.median_round_trip(T2I, 0.0) == 2.5, "the median of both orchestrators' results"
    assert fast.score > slow.score > 0.65
    alone = board.score("slow", other, 0.0)
    assert alone is not None and abs(alone.latency_score - 0.8) < 1e-9, "alone on its model: it is the median"
    assert board.score("fast", other, 0.0) is None


def test_the_window_drops_old_results_and_keeps_at_most_max_results() -> None:
    board = Scoreboard(window=60.0, max_results=10)
    for t in range(5):
        board.record("o", TRANSCODING, Result(float(t), False))
    for t in range(100, 103):
        board.record("o", TRANSCODING, Result(float(t), True, 1.0, 2.0))
    s = board.score("o", TRANSCODING, 103.0)
    assert s is not None and s.samples == 3 and s.success_rate == 1.0, "the failures a minute old no longer count"
    assert board.score("o", TRANSCODING, 200.0) is None, "nothing in the window: no score"
    for t in range(20):
        board.record("o", TRANSCODING, Result(300.0 + t, t >= 10, 1.0, 2.0))
    s = board.score("o", TRANSCODING, 320.0)
    assert s is not None and s.samples == 10 and s.success_rate == 1.0, "only the latest 10"


def test_scores_forget_keys_with_nothing_in_the_window() -> None:
    board = Scoreboard(window=10.0)
    board.record("a", TRANSCODING, Result(0.0, True, 1.0, 2.0))
    board.record("b", T2I, Result(50.0, True, 1.0))
    assert [(url, w) for url, w, _ in board.scores(55.0)] == [("b", T2I)]
    assert ("a", TRANSCODING) not in board.results


def test_selection_gives_the_better_scored_more_transcoding_work() -> None:
    """The pool weighs each orchestrator by its score for the kind of work drawn."""
    picks: Counter[str] = Counter()
    pool = OrchestratorPool(rng=random.Random(5))
    for url in ("good", "slow", "flaky", "new"):
        pool.set_info(url, 1)
    for i in range(30):
        pool.succeeded("good", 0.5, now=0.0, duration=2.0)  # 0.98
        pool.succeeded("slow", 4.0, now=0.0, duration=2.0)  # 0.39
        if i % 3:
            pool.succeeded("flaky", 0.5, now=0.0, duration=2.0)  # 2/3 x 0.98
        else:
            pool.failed("flaky", now=0.0)
        # An AI record says nothing about transcoding.
        pool.failed("new", now=0.0, work=T2I)
    for member in pool.members.values():
        member.avoid_until = 0.0  # the back-off after a failure is not what this is about
    for _ in range(4000):
        url = pool.acquire(0.0)
        assert url is not None
        picks[url] += 1
        pool.release(url)
    assert picks["good"] > picks["flaky"] > picks["slow"] > 0
    assert picks["good"] > 1.5 * picks["flaky"] and picks["flaky"] > 1.5 * picks["slow"]
    assert abs(picks["new"] / picks["flaky"] - 1) < 0.2, "a new one counts as the median (here flaky)"
