"""The round clock against the RoundsManager's formula."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framemesh.explorer.index.clock import RoundClock


def test_rounds_follow_the_length_from_the_last_change() -> None:
    clock = RoundClock(length=20, update_round=5, update_block=100)
    assert [clock.round_of(b) for b in (100, 119, 120, 139, 140)] == [5, 5, 6, 6, 7]
    assert clock.start_of(7) == 140


@given(st.integers(1, 10_000), st.integers(0, 1_000), st.integers(0, 10**6), st.integers(0, 10**6))
def test_a_block_lies_in_the_round_that_starts_at_or_before_it(length: int, round_: int, block: int, offset: int) -> None:
    clock = RoundClock(length, round_, block)
    b = block + offset
    r = clock.round_of(b)
    assert clock.start_of(r) <= b < clock.start_of(r + 1)


def test_it_round_trips_through_json_and_refuses_a_zero_length() -> None:
    clock = RoundClock(7, 3, 21)
    assert RoundClock.from_json(clock.to_json()) == clock
    with pytest.raises(ValueError, match="at least one block"):
        RoundClock(0)
