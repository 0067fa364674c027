"""Amounts with units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framemesh.chain.units import format_amount, parse_amount

E18 = 10**18


@pytest.mark.parametrize(
    ("text", "wei"),
    [
        ("10 FMT", 10 * E18),
        ("0.5 ETH", E18 // 2),
        ("0.1 ETH", 10**17),
        ("1.000000000000000001 FMT", E18 + 1),
        ("  2.5fmt ", 25 * 10**17),
        (".25 eth", E18 // 4),
        ("3 gwei", 3 * 10**9),
        ("7 wei", 7),
        ("1000", 1000),
        ("1_000 FMT", 1000 * E18),
        (0, 0),
        (12345, 12345),
        ("123456789012345678901234567890.123456789012345678 FMT", 123456789012345678901234567890123456789012345678),
    ],
)
def test_parse_amount(text: str | int, wei: int) -> None:
    assert parse_amount(text) == wei


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not an amount"),
        ("abc", "not an amount"),
        ("-1 FMT", "not an amount"),
        ("1e18", "not an amount"),
        ("1.5", "must be whole"),
        ("1 DOGE", "unknown unit 'DOGE'"),
        ("0.0000000000000000001 ETH", "finer than one wei"),
        ("1.5 wei", "finer than one wei"),
        ("1 2 FMT", "not an amount"),
        (-5, "negative"),
        (True, "not an amount"),
        (1.5, "not an amount"),
    ],
)
def test_parse_amount_refuses_garbage(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_amount(text)  # type: ignore[arg-type]


def test_expected_unit() -> None:
    assert parse_amount("2 FMT", unit="FMT") == 2 * E18
    assert parse_amount("5 wei", unit="FMT") == 5
    assert parse_amount("5", unit="FMT") == 5
    with pytest.raises(ValueError, match="expected an amount in FMT, not ETH"):
        parse_amount("1 ETH", unit="FMT")


def test_format_amount() -> None:
    assert format_amount(0) == "0 FMT"
    assert format_amount(E18 // 2) == "0.5 FMT"
    assert format_amount(1, "ETH") == "0.000000000000000001 ETH"
    assert format_amount(3 * 10**9, "gwei") == "3 gwei"
    with pytest.raises(ValueError):
        format_amount(-1)


@given(st.integers(min_value=0, max_value=10**40), st.sampled_from(["FMT", "ETH", "gwei", "wei"]))
def test_format_then_parse_round_trips(wei: int, unit: str) -> None:
    assert parse_amount(format_amount(wei, unit)) == wei


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**18 - 1))
def test_decimal_parts_are_exact(whole: int, frac: int) -> None:
    text = f"{whole}.{str(frac).rjust(18, '0')} FMT"
    assert parse_amount(text) == whole * E18 + frac
