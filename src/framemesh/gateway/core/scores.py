"""How well each orchestrator does each kind of work: Livepeer's performance scores,
computed from the gateway's own results. Pure: no I/O, the time is passed in.

A score is per orchestrator and per kind of work (`Work`): transcoding, or one AI
pipeline and model. It is computed over a sliding window of that orchestrator's latest
results (at most `max_results`, none older than `window` seconds), with the formulas
Livepeer's leaderboard publishes:

- transcoding: ``score = success rate x (1 - e^(-segment duration / round trip))``,
  the duration and round trip being the means over the window's successes; a segment
  back in a tenth of its duration scores 1 - e^-10 (about 1), one back in its own
  duration 0.63, one that takes twice as long 0.39;
- AI: ``score = 0.65 x success rate + 0.35 x e^(-k x round trip)``, the round trip
  being the mean over the window's successes, and ``k = ln(1 / 0.8) / median`` where
  the median is over every orchestrator's successful round trips for that pipeline and
  model in the window: an orchestrator as fast as the median scores 0.8 on latency,
  one twice as slow 0.64; none successful scores 0.

The success rate is successes / results in the window. No result in the window: no
score (selection gives such an orchestrator a neutral prior, see `selection`).
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

TRANSCODE = "transcode"
AI = "ai"
SCORE_AT_MEDIAN = 0.8  # an AI round trip equal to the median scores this on latency
AI_SUCCESS_WEIGHT, AI_LATENCY_WEIGHT = 0.65, 0.35


@dataclass(frozen=True)
class Work:
    """A kind of work an orchestrator is scored on: transcoding, or an AI pipeline and model."""

    kind: str = TRANSCODE
    pipeline: str | None = None
    model: str | None = None

    @classmethod
    def ai(cls, pipeline: str, model: str) -> Work:
        return cls(AI, pipeline, model)

    @property
    def label(self) -> str:
        """"transcode", or "pipeline/model" for AI."""
        return self.kind if self.kind == TRANSCODE else f"{self.pipeline}/{self.model}"


TRANSCODING = Work()


@dataclass(frozen=True)
class Result:
    """One piece of work's outcome as the gateway saw it."""

    at: float
    ok: bool
    round_trip: float | None = None  # seconds from sending to having the answer (successes)
    duration: float | None = None  # seconds of media in the segment (transcoding)


@dataclass(frozen=True)
class Score:
    score: float
    success_rate: float
    latency_score: float
    round_trip_p50: float | None
    round_trip_mean: float | None
    segment_duration: float | None  # mean, transcoding only
    samples: int
    updated_at: float  # the latest result's time


def transcode_latency_score(segment_duration: float, round_trip: float) -> float:
    """1 - e^(-duration / round trip): 0.63 when a segment takes its own duration."""
    if round_trip <= 0:
        return 1.0
    return 1.0 - math.exp(-segment_duration / round_trip)


def transcode_score(success_rate: float, latency_score: float) -> float:
    return success_rate * latency_score


def ai_k(median_round_trip: float) -> float:
    """The decay rate that makes the median round trip score `SCORE_AT_MEDIAN`."""
    return math.log(1.0 / SCORE_AT_MEDIAN) / median_round_trip if median_round_trip > 0 else 0.0


def ai_latency_score(round_trip: float, k: float) -> float:
    return math.exp(-k * round_trip)


def ai_score(success_rate: float, latency_score: float) -> float:
    """0.65 x success + 0.35 x latency; none successful scores 0 (as Livepeer's does)."""
    if success_rate <= 0:
        return 0.0
    return AI_SUCCESS_WEIGHT * success_rate + AI_LATENCY_WEIGHT * latency_score


def score_of(results: list[Result], work: Work, k: float | None = None) -> Score | None:
    """The score of one orchestrator's results for `work` (`k`: the AI decay rate)."""
    if not results:
        return None
    done = [r for r in results if r.ok and r.round_trip is not None]
    success = sum(r.ok for r in results) / len(results)
    trips = [r.round_trip for r in done if r.round_trip is not None]
    mean_trip = statistics.fmean(trips) if trips else None
    durations = [r.duration for r in done if r.duration is not None]
    mean_duration = statistics.fmean(durations) if durations else None
    if work.kind == TRANSCODE:
        latency = transcode_latency_score(mean_duration, mean_trip) if mean_trip is not None and mean_duration else 0.0
        total = transcode_score(success, latency)
    else:
        latency = ai_latency_score(mean_trip, k) if mean_trip is not None and k is not None else 0.0
        total = ai_score(success, latency)
    return Score(
        score=total, success_rate=success, latency_score=latency,
        round_trip_p50=statistics.median(trips) if trips else None, round_trip_mean=mean_trip,
        segment_duration=mean_duration, samples=len(results), updated_at=max(r.at for r in results),
    )


@dataclass
class Scoreboard:
    """Every orchestrator's recent results per kind of work, and the scores they make."""

    window: float = 600.0  # seconds a result counts for
    max_results: int = 200  # results kept per orchestrator and kind of work
    results: dict[tuple[str, Work], deque[Result]] = field(default_factory=dict)

    def record(self, url: str, work: Work, result: Result) -> None:
        line = self.results.setdefault((url, work), deque(maxlen=self.max_results))
        line.append(result)

    def recent(self, url: str, work: Work, now: float) -> list[Result]:
        """`url`'s results for `work` in the window at `now` (older ones are dropped)."""
        line = self.results.get((url, work))
        if line is None:
            return []
        cutoff = now - self.window
        while line and line[0].at < cutoff:
            line.popleft()
        return [r for r in line if r.at >= cutoff]  # (results come in time order, but not always exactly)

    def median_round_trip(self, work: Work, now: float) -> float | None:
        """The median of every orchestrator's successful round trips for `work` in the window."""
        trips = [
            r.round_trip for (url, w) in list(self.results) if w == work
            for r in self.recent(url, w, now) if r.ok and r.round_trip is not None
        ]
        return statistics.median(trips) if trips else None

    def k(self, work: Work, now: float) -> float | None:
        """The AI decay rate for `work` (None: no successful round trip in the window)."""
        median = self.median_round_trip(work, now)
        return ai_k(median) if median else None

    def score(self, url: str, work: Work, now: float, k: float | None = None) -> Score | None:
        """`url`'s score for `work` at `now`; None when it has no result in the window.
        `k`: the AI decay rate when already known (it is the same for every orchestrator)."""
        results = self.recent(url, work, now)
        if not results:
            return None
        if work.kind != TRANSCODE and k is None:
            k = self.k(work, now)
        return score_of(results, work, k)

    def scores(self, now: float) -> list[tuple[str, Work, Score]]:
        """Every (orchestrator, work, score) with a result in the window."""
        ks = {w: self.k(w, now) for _, w in self.results if w.kind != TRANSCODE}
        out = []
        for url, work in list(self.results):
            got = self.score(url, work, now, ks.get(work))
            if got is not None:
                out.append((url, work, got))
            else:
                del self.results[(url, work)]  # nothing in the window: forget the key
        return out

    def forget(self, url: str) -> None:
        for key in [key for key in self.results if key[0] == url]:
            del self.results[key]
