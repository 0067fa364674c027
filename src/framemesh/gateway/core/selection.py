"""Which orchestrator gets the next piece of work. Pure: no I/O, randomness passed in.

Each free orchestrator gets a weight, and one is drawn at random by weight:

    weight = (floor + stake share) x (best price / price) x max(SCORE_FLOOR, score^2) x free slots

- stake share: the orchestrator's share of the candidates' stake (what the chain
  says it has at risk); `floor` keeps unstaked (off-chain) or tiny ones in the draw;
- price: cheaper is better, in proportion;
- score: its performance score for this kind of work (`scores`: Livepeer's formulas,
  0 to 1, from the gateway's recent results), squared so that half the score gets a
  quarter of the work. Few results are pulled towards a prior, the median score of
  the candidates that have one (1 when none has): with n results,
  (n x score + PRIOR_RESULTS x prior) / (n + PRIOR_RESULTS). So a new orchestrator
  starts as an average one and gets work to be measured on, and one unlucky first
  result does not sink it. `SCORE_FLOOR` keeps a bad one in the draw now and then,
  so it is measured again and can come back;
- free slots: the fraction of its capacity not in use, so work spreads out.

Drawing instead of taking the best keeps new orchestrators in work and spreads load
across equals. `order` draws them all, one after another: an order to try them in.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from typing import Sequence

STAKE_FLOOR = 0.05
SCORE_FLOOR = 0.05  # the least a score counts for: about one job in twenty of an equal's
SCORE_POWER = 2
PRIOR_RESULTS = 3.0  # results' worth of the prior in a score


@dataclass(frozen=True)
class Candidate:
    url: str
    stake: int = 0
    price_per_pixel: int = 0  # or per unit, for AI work: what matters is the ratio
    score: float | None = None  # its performance score for this work; None: no record
    samples: int = 0  # results the score is made of
    in_flight: int = 0
    capacity: int = 1


def prior(candidates: Sequence[Candidate]) -> float:
    """What a score with no results is taken to be: the median of the known ones, else 1."""
    known = [c.score for c in candidates if c.score is not None and c.samples > 0]
    return statistics.median(known) if known else 1.0


def effective_score(c: Candidate, prior_score: float) -> float:
    """Its score pulled towards the prior by PRIOR_RESULTS results' worth."""
    if c.score is None or c.samples <= 0:
        return prior_score
    return (c.samples * c.score + PRIOR_RESULTS * prior_score) / (c.samples + PRIOR_RESULTS)


def weights(candidates: Sequence[Candidate]) -> list[float]:
    if not candidates:
        return []
    total_stake = sum(c.stake for c in candidates)
    priced = [c.price_per_pixel for c in candidates if c.price_per_pixel > 0]
    best_price = min(priced) if priced else 0
    prior_score = prior(candidates)
    out = []
    for c in candidates:
        stake = c.stake / total_stake if total_stake else 1.0 / len(candidates)
        price = best_price / c.price_per_pixel if c.price_per_pixel > 0 and best_price else 1.0
        score = max(SCORE_FLOOR, effective_score(c, prior_score) ** SCORE_POWER)
        free = max(0.0, 1.0 - c.in_flight / c.capacity) if c.capacity > 0 else 0.0
        out.append((STAKE_FLOOR + stake) * price * score * free)
    return out


def choose(candidates: Sequence[Candidate], rng: random.Random) -> str | None:
    """Draw one candidate's URL by weight; None when no candidate has any weight."""
    ws = weights(candidates)
    total = sum(ws)
    if total <= 0:
        return None
    point = rng.random() * total
    for c, w in zip(candidates, ws):
        point -= w
        if point < 0:
            return c.url
    return next(c.url for c, w in zip(reversed(candidates), reversed(ws)) if w > 0)


def order(candidates: Sequence[Candidate], rng: random.Random) -> list[str]:
    """Every candidate's URL, drawn one after another by weight without putting back
    (so the first is drawn as `choose` draws); those without weight last, at random."""
    left = list(candidates)
    ws = weights(left)
    drawn: list[str] = []
    while left:
        total = sum(ws)
        if total <= 0:
            rest = [c.url for c in left]
            rng.shuffle(rest)
            return drawn + rest
        point = rng.random() * total
        i = 0
        while i < len(left) - 1 and point >= ws[i]:
            point -= ws[i]
            i += 1
        while ws[i] <= 0:  # float slack at the end: the last with weight
            i -= 1
        drawn.append(left.pop(i).url)
        ws.pop(i)
    return drawn
