"""The limits an API key carries: written as people write them, applied exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from framemesh.gateway.core.limits import SpendLimit, TokenBucket, parse_rate, parse_spend, rate_text


def test_spend_limits_are_an_amount_per_period() -> None:
    assert parse_spend("0.1 ETH/day") == SpendLimit(10**17, 86400)
    assert parse_spend("50 gwei / hour") == SpendLimit(50 * 10**9, 3600)
    assert parse_spend("1000/days") == SpendLimit(1000, 86400)
    assert str(parse_spend("0.1 ETH/day")) == "0.1 ETH/day"


@pytest.mark.parametrize("text", ["0.1 ETH", "ETH/day", "0 ETH/day", "0.1 ETH/fortnight", "-1 ETH/day"])
def test_a_spend_limit_people_cannot_mean_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_spend(text)


def test_rates_are_requests_per_period() -> None:
    assert parse_rate("5/s") == 5.0
    assert parse_rate("300/min") == 5.0
    assert parse_rate("36/hour") == 0.01
    for bad in ("5", "fast/s", "0/s", "5/eon"):
        with pytest.raises(ValueError):
            parse_rate(bad)
    assert [rate_text(parse_rate(t)) for t in ("5/s", "30/min", "36/hour", "1/hour")] == ["5/s", "30/min", "36/h", "1/h"]


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=2)
    assert [bucket.take(0.0) for _ in range(2)] == [0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5), "the next token in half a second"
    assert bucket.take(0.5) == 0.0


@given(st.lists(st.floats(0, 0.5), min_size=1, max_size=200), st.floats(0.5, 20))
def test_a_bucket_never_lets_through_more_than_its_rate_allows(gaps: list[float], rate: float) -> None:
    bucket, now, allowed = TokenBucket(rate), 0.0, 0
    for gap in gaps:
        now += gap
        allowed += bucket.take(now) == 0.0
    assert allowed <= bucket.burst + rate * now + 1e-9
