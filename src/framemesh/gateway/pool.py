"""The gateway's view of the orchestrators it knows: free slots, health, and who to avoid.

Pure bookkeeping, no I/O: the caller passes the time in. An orchestrator that fails
is avoided for a while, twice as long after each consecutive failure (up to a cap),
so a dead node costs one failed request per back-off period, not one per segment.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Member:
    url: str
    capacity: int = 1
    in_flight: int = 0
    avoid_until: float = 0.0
    consecutive_failures: int = 0
    successes: int = 0
    failures: int = 0
    latency: float | None = None  # smoothed seconds per segment
    known: bool = False  # /info answered at least once

    def available(self, now: float) -> bool:
        return self.avoid_until <= now and self.in_flight < self.capacity


@dataclass
class OrchestratorPool:
    """Picks an orchestrator with a free slot, least loaded first, fastest among equals."""

    base_avoid: float = 5.0
    max_avoid: float = 120.0
    members: dict[str, Member] = field(default_factory=dict)

    def add(self, url: str, capacity: int = 1) -> Member:
        member = self.members.get(url)
        if member is None:
            member = self.members[url] = Member(url=url)
        member.capacity = max(1, capacity)
        return member

    def set_info(self, url: str, capacity: int) -> None:
        member = self.add(url, capacity)
        member.known = True

    def acquire(self, now: float) -> str | None:
        """Reserve a slot; returns the orchestrator's URL, or None when none is free."""
        free = [m for m in self.members.values() if m.available(now)]
        if not free:
            return None
        best = min(
            free,
            key=lambda m: (m.in_flight / m.capacity, m.latency if m.latency is not None else 0.0, m.url),
        )
        best.in_flight += 1
        return best.url

    def release(self, url: str) -> None:
        member = self.members[url]
        if member.in_flight <= 0:
            raise RuntimeError(f"release of {url} without a slot held")
        member.in_flight -= 1

    def succeeded(self, url: str, seconds: float) -> None:
        member = self.members[url]
        member.successes += 1
        member.consecutive_failures = 0
        member.latency = seconds if member.latency is None else 0.7 * member.latency + 0.3 * seconds

    def failed(self, url: str, now: float) -> float:
        """Count a failure and avoid the orchestrator; returns until when."""
        member = self.members[url]
        member.failures += 1
        member.consecutive_failures += 1
        wait = min(self.max_avoid, self.base_avoid * 2 ** (member.consecutive_failures - 1))
        member.avoid_until = max(member.avoid_until, now + wait)
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
                "latency": m.latency,
                "known": m.known,
            }
            for m in self.members.values()
        ]
