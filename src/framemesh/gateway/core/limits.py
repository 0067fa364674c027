"""What an API key may do: spend so much per period, so many requests per second, so
many at once. Pure: parsing what people write, and the arithmetic of the limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from framemesh.chain.units import format_amount, parse_amount

PERIODS: dict[str, float] = {
    "s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
    "d": 86400, "day": 86400, "week": 7 * 86400, "month": 30 * 86400,
}
_PER = re.compile(r"^\s*(?P<amount>[^/]+?)\s*/\s*(?P<period>[a-z]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SpendLimit:
    wei: int
    seconds: float

    def __str__(self) -> str:
        period = next((name for name, s in PERIODS.items() if s == self.seconds and len(name) > 1), f"{self.seconds:g} s")
        return f"{format_amount(self.wei, 'ETH')}/{period}"


def _period(name: str, text: str) -> float:
    seconds = PERIODS.get(name.lower().rstrip("s") if name.lower() not in PERIODS else name.lower())
    if seconds is None:
        raise ValueError(f"{text!r}: the period must be one of {', '.join(sorted(p for p in PERIODS if len(p) > 1))}")
    return seconds


def parse_spend(text: str) -> SpendLimit:
    """"0.1 ETH/day", "50 gwei/hour": an amount and a period."""
    match = _PER.match(text)
    if match is None:
        raise ValueError(f"{text!r}: write an amount per period, e.g. '0.1 ETH/day'")
    wei = parse_amount(match["amount"])
    if wei <= 0:
        raise ValueError(f"{text!r}: the amount must be positive")
    return SpendLimit(wei, _period(match["period"], text))


def parse_rate(text: str) -> float:
    """"5/s", "300/min": requests per second."""
    match = _PER.match(text)
    if match is None:
        raise ValueError(f"{text!r}: write requests per period, e.g. '5/s' or '300/min'")
    try:
        count = float(match["amount"])
    except ValueError:
        raise ValueError(f"{text!r}: {match['amount']!r} is not a number") from None
    if count <= 0:
        raise ValueError(f"{text!r}: the rate must be positive")
    return count / _period(match["period"], text)


def rate_text(per_second: float) -> str:
    """A rate as people write it: '5/s', '30/min', '2/h'."""
    for unit, seconds in (("s", 1), ("min", 60), ("h", 3600)):
        if per_second * seconds >= 1 or unit == "h":
            return f"{per_second * seconds:.4g}/{unit}"
    raise AssertionError("unreachable")


class TokenBucket:
    """`rate` requests per second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self.tokens = self.burst
        self.at: float | None = None

    def take(self, now: float) -> float:
        """Take one token: 0 when it is taken, else the seconds until one will be there."""
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate
