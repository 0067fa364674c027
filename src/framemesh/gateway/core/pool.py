"""The gateway's view of the orchestrators it knows: free slots, health, scores, and who
to avoid.

Pure bookkeeping, no I/O: the caller passes the time in. Every piece of work's outcome
is reported with the kind of work it was (`scores.Work`), and goes into the
orchestrator's performance score for that kind (`scores.Scoreboard`), which selection
weighs (`selection`) when it draws who gets the next piece of that kind. An
orchestrator that fails is also avoided for a while, twice as long after each
consecutive failure (up to a cap), so a dead node costs one failed request per
back-off period, not one per segment. A /info probe that fails backs it off the same
way but is not a failed job. Each member also keeps a fading all-work success record
(counts halving every RECORD_HALF_LIFE seconds), reported in `snapshot`.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, field

from framemesh.gateway.core.scores import TRANSCODING, Result, Scoreboard, Work
from framemesh.gateway.core.selection import Candidate, choose

RECORD_HALF_LIFE = 600.0  # seconds for an orchestrator's success and failure counts to halve


def success_rate(successes: float, failures: float) -> float:
    """(successes + 1) / (attempts + 2): 1/2 with no record, towards 0 or 1 with one."""
    return (successes + 1) / (successes + failures + 2)


def decayed(count: float, seconds: float) -> float:
    """A count `seconds` after it was last updated, halving every RECORD_HALF_LIFE."""
    return count * 0.5 ** (max(0.0, seconds) / RECORD_HALF_LIFE)


@dataclass
class Member:
    url: str
    capacity: int = 1
    in_flight: int = 0
    avoid_until: float = 0.0
    consecutive_failures: int = 0
    successes: int = 0  # jobs done, ever (reported)
    failures: int = 0  # jobs failed, ever (reported)
    recent_successes: float = 0.0  # the same, fading with time: what selection weighs
    recent_failures: float = 0.0
    recorded_at: float = 0.0  # when the recent counts were last brought up to date
    latency: float | None = None  # smoothed seconds per segment
    known: bool = False  # /info answered at least once
    stake: int = 0  # on-chain total stake, when discovered from the chain
    address: str | None = None  # on-chain address
    price_per_pixel: int = 0
    over_price: str | None = None  # why its price keeps it out (over --max-price), from its /info
    departed: bool = False  # it left the active set; only its work in flight finishes

    @property
    def refused(self) -> str | None:
        """Why this gateway won't send it work, or None."""
        return "no longer in the active set" if self.departed else self.over_price

    def available(self, now: float) -> bool:
        return self.refused is None and self.avoid_until <= now and self.in_flight < self.capacity

    def record(self, now: float, *, ok: bool) -> None:
        """Count a job done (`ok`) or failed, after fading the record to `now`."""
        self._fade(now)
        if ok:
            self.successes += 1
            self.recent_successes += 1
        else:
            self.failures += 1
            self.recent_failures += 1

    def _fade(self, now: float) -> None:
        elapsed = now - self.recorded_at
        self.recent_successes = decayed(self.recent_successes, elapsed)
        self.recent_failures = decayed(self.recent_failures, elapsed)
        self.recorded_at = max(self.recorded_at, now)

    def recent(self, now: float) -> tuple[float, float]:
        """(successes, failures) as they stand at `now`."""
        elapsed = now - self.recorded_at
        return decayed(self.recent_successes, elapsed), decayed(self.recent_failures, elapsed)

    def success_rate(self, now: float) -> float:
        return success_rate(*self.recent(now))


@dataclass
class OrchestratorPool:
    """Picks an orchestrator with a free slot, drawn by `selection.weights`. With
    `score_weights` off, every score counts as 1 (stake, price and free slots only)."""

    base_avoid: float = 5.0
    max_avoid: float = 120.0
    members: dict[str, Member] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
    scores: Scoreboard = field(default_factory=Scoreboard)
    score_weights: bool = True

    def add(self, url: str, capacity: int = 1) -> Member:
        """Take an orchestrator into the pool (again, if it had left the active set)."""
        member = self.members.get(url)
        if member is None:
            member = self.members[url] = Member(url=url)
        member.capacity = max(1, capacity)
        member.departed = False
        return member

    def set_info(
        self, url: str, capacity: int, *, price_per_pixel: int = 0, address: str | None = None, max_price: int | None = None
    ) -> None:
        """What the orchestrator's /info says. It never brings back one that has left the
        active set: only the chain (`add`) does."""
        member = self.members.get(url)
        if member is None:
            member = self.add(url, capacity)
        member.capacity = max(1, capacity)
        member.known = True
        member.price_per_pixel = price_per_pixel
        member.address = address or member.address
        over = max_price is not None and price_per_pixel > max_price
        member.over_price = f"price {price_per_pixel} wei/pixel is over the max price {max_price}" if over else None

    def remove(self, url: str) -> None:
        """Forget an orchestrator (it left the active set); work in flight finishes."""
        member = self.members.get(url)
        if member is not None and member.in_flight == 0:
            del self.members[url]
            self.scores.forget(url)
        elif member is not None:
            member.departed = True

    def candidate(self, member: Member, work: Work, now: float, *, price: int | None = None, k: float | None = None) -> Candidate:
        """`member` as selection sees it for `work` (`price`: per unit, for AI work)."""
        score = self.scores.score(member.url, work, now, k) if self.score_weights else None
        return Candidate(
            url=member.url, stake=member.stake, price_per_pixel=member.price_per_pixel if price is None else price,
            score=score.score if score else None, samples=score.samples if score else 0,
            in_flight=member.in_flight, capacity=member.capacity,
        )

    def acquire(
        self, now: float, *, prefer: str | None = None, exclude: Collection[str] = (), work: Work = TRANSCODING,
    ) -> str | None:
        """Reserve a slot for a piece of `work`; returns the orchestrator's URL, or None
        when none is free. `prefer` is taken when it is free (a live stream stays where
        it keeps up); `exclude` is never taken."""
        preferred = self.members.get(prefer) if prefer is not None and prefer not in exclude else None
        if preferred is not None and preferred.available(now):
            preferred.in_flight += 1
            return preferred.url
        free = [m for m in self.members.values() if m.available(now) and m.url not in exclude]
        k = self.scores.k(work, now) if work != TRANSCODING and free else None
        url = choose([self.candidate(m, work, now, k=k) for m in free], self.rng)
        if url is None:
            return None
        self.members[url].in_flight += 1
        return url

    def reserve(self, url: str, now: float) -> bool:
        """Take a slot on `url` itself (a test job for it), if it is free."""
        member = self.members.get(url)
        if member is None or not member.available(now):
            return False
        member.in_flight += 1
        return True

    def release(self, url: str) -> None:
        member = self.members[url]
        if member.in_flight <= 0:
            raise RuntimeError(f"release of {url} without a slot held")
        member.in_flight -= 1

    def succeeded(
        self, url: str, seconds: float, now: float, *, work: Work = TRANSCODING, duration: float | None = None,
    ) -> None:
        """A piece of `work` done in `seconds` (its round trip, as the gateway saw it);
        `duration`: the seconds of media in a segment (a transcoding score needs it)."""
        member = self.members[url]
        member.record(now, ok=True)
        member.consecutive_failures = 0
        member.latency = seconds if member.latency is None else 0.7 * member.latency + 0.3 * seconds
        self.scores.record(url, work, Result(now, True, seconds, duration))

    def failed(self, url: str, now: float, *, work: Work = TRANSCODING) -> float:
        """Count a failed piece of `work` and avoid the orchestrator; returns until when."""
        self.members[url].record(now, ok=False)
        self.scores.record(url, work, Result(now, False))
        return self.unreachable(url, now)

    def failure(self, url: str, now: float, *, bad_result: bool, work: Work = TRANSCODING) -> float:
        """A failed piece of `work`: banned for the longest if its result was bad (it
        cheated), else avoided as after any failure; returns until when."""
        return self.ban(url, now, work=work) if bad_result else self.failed(url, now, work=work)

    def unreachable(self, url: str, now: float) -> float:
        """It did not answer (a /info probe): back off as after a failure, twice as long
        each time in a row, without counting a failed job; returns until when."""
        member = self.members[url]
        member.consecutive_failures += 1
        wait = min(self.max_avoid, self.base_avoid * 2 ** (member.consecutive_failures - 1))
        member.avoid_until = max(member.avoid_until, now + wait)
        return member.avoid_until

    def ban(self, url: str, now: float, *, work: Work = TRANSCODING) -> float:
        """It cheated: count a failure and avoid it for the longest time."""
        member = self.members[url]
        member.record(now, ok=False)
        self.scores.record(url, work, Result(now, False))
        member.consecutive_failures += 1
        member.avoid_until = max(member.avoid_until, now + self.max_avoid)
        return member.avoid_until

    def busy(self, url: str, now: float, retry_after: float) -> None:
        """It said it is full: not a failure, but don't send it more for `retry_after` s."""
        member = self.members[url]
        member.avoid_until = max(member.avoid_until, now + retry_after)

    def next_change(self, now: float) -> float | None:
        """Seconds until an avoided orchestrator can be tried again (None if none is avoided)."""
        waits = [m.avoid_until - now for m in self.members.values() if m.avoid_until > now]
        return min(waits) if waits else None

    def snapshot(self, now: float) -> list[dict[str, object]]:
        return [
            {
                "url": m.url,
                "capacity": m.capacity,
                "in_flight": m.in_flight,
                "avoided_for": round(max(0.0, m.avoid_until - now), 3),
                "successes": m.successes,
                "failures": m.failures,
                "success_rate": round(m.success_rate(now), 4),
                "latency": m.latency,
                "known": m.known,
                "stake": str(m.stake),
                "address": m.address,
                "price_per_pixel": m.price_per_pixel,
                "refused": m.refused,
            }
            for m in self.members.values()
        ]
