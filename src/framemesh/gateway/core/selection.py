"""Which orchestrator gets the next piece of work. Pure: no I/O, randomness passed in.

Each free orchestrator gets a weight, and one is drawn at random by weight:

    weight = (floor + stake share) x (best price / price) x success^2 x (best latency / latency) x free slots

- stake share: the orchestrator's share of the candidates' stake (what the chain
  says it has at risk); `floor` keeps unstaked (off-chain) or tiny ones in the draw;
- price: cheaper is better, in proportion;
- success: (successes + 1) / (attempts + 2) over its recent record (the counts
  halve every `RECORD_HALF_LIFE` seconds), so a new orchestrator starts at 1/2, one
  that keeps failing fades out, and one that failed an hour ago is not held to it;
- latency: smoothed seconds per segment, relative to the fastest; unknown is neutral;
- free slots: the fraction of its capacity not in use, so work spreads out.

Drawing instead of taking the best keeps new orchestrators in work (they have no
record yet) and spreads load across equals.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

STAKE_FLOOR = 0.05
RECORD_HALF_LIFE = 600.0  # seconds for an orchestrator's success and failure counts to halve


def success_rate(successes: float, failures: float) -> float:
    """(successes + 1) / (attempts + 2): 1/2 with no record, towards 0 or 1 with one."""
    return (successes + 1) / (successes + failures + 2)


def decayed(count: float, seconds: float) -> float:
    """A count `seconds` after it was last updated, halving every RECORD_HALF_LIFE."""
    return count * 0.5 ** (max(0.0, seconds) / RECORD_HALF_LIFE)


@dataclass(frozen=True)
class Candidate:
    url: str
    stake: int = 0
    price_per_pixel: int = 0
    successes: float = 0.0  # recent (decayed) counts
    failures: float = 0.0
    latency: float | None = None
    in_flight: int = 0
    capacity: int = 1


def weights(candidates: Sequence[Candidate]) -> list[float]:
    if not candidates:
        return []
    total_stake = sum(c.stake for c in candidates)
    priced = [c.price_per_pixel for c in candidates if c.price_per_pixel > 0]
    best_price = min(priced) if priced else 0
    timed = [c.latency for c in candidates if c.latency]
    best_latency = min(timed) if timed else None
    out = []
    for c in candidates:
        stake = c.stake / total_stake if total_stake else 1.0 / len(candidates)
        price = best_price / c.price_per_pixel if c.price_per_pixel > 0 and best_price else 1.0
        success = success_rate(c.successes, c.failures)
        latency = best_latency / c.latency if best_latency and c.latency else 1.0
        free = max(0.0, 1.0 - c.in_flight / c.capacity) if c.capacity > 0 else 0.0
        out.append((STAKE_FLOOR + stake) * price * success**2 * latency * free)
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
