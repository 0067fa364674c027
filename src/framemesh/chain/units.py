"""Token and ether amounts written by people: ``"10 FMT"``, ``"0.5 ETH"``, ``"1000"``.

Pure: no I/O, no web3.  Both FMT (the framemesh token) and ETH have 18 decimals, so
``parse_amount`` returns base units (wei) either way; the unit a caller expects can
be enforced with ``unit=``.  Decimal maths is exact: ``"0.1 ETH"`` is exactly
``10**17`` wei, and an amount finer than one wei is refused rather than rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext

DECIMALS = 18
WEI_PER_UNIT = 10**DECIMALS

#: unit name (upper case) -> base units per one of it
UNITS: dict[str, int] = {
    "WEI": 1,
    "GWEI": 10**9,
    "ETH": WEI_PER_UNIT,
    "FMT": WEI_PER_UNIT,
}

_AMOUNT = re.compile(r"^\s*(?P<number>[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)\s*(?P<unit>[A-Za-z]+)?\s*$")


def parse_amount(text: str | int, *, unit: str | None = None) -> int:
    """Parse an amount into base units (wei).

    - ``"10 FMT"`` / ``"0.5 ETH"`` / ``"3 gwei"``: a decimal number and a unit;
    - ``"1000"`` or ``1000``: a plain integer, already in wei;
    - ``unit="FMT"`` refuses an amount written in another unit (``"1 ETH"``), except
      plain wei integers and ``wei``.

    Raises ``ValueError`` with a message that says what is wrong.
    """
    if isinstance(text, bool):
        raise ValueError(f"not an amount: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"amount must not be negative: {text}")
        return text
    if not isinstance(text, str):
        raise ValueError(f"not an amount: {text!r}")
    match = _AMOUNT.match(text)
    if match is None:
        raise ValueError(
            f"not an amount: {text!r} (write a number and a unit, e.g. '10 FMT', '0.5 ETH', or a whole number of wei)"
        )
    number = match["number"].replace("_", "")
    written_unit = (match["unit"] or "").upper()
    if not written_unit:
        if "." in number:
            raise ValueError(
                f"{text!r}: a plain number is a count of wei and must be whole; add a unit ('{number} FMT')"
            )
        return int(number)
    if written_unit not in UNITS:
        known = ", ".join(sorted(UNITS))
        raise ValueError(f"{text!r}: unknown unit {match['unit']!r} (known: {known})")
    if unit is not None and written_unit not in (unit.upper(), "WEI"):
        raise ValueError(f"{text!r}: expected an amount in {unit.upper()}, not {written_unit}")
    with localcontext() as ctx:
        ctx.prec = len(number) + DECIMALS + 2  # exact: never round a long amount
        try:
            value = Decimal(number) * UNITS[written_unit]
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            raise ValueError(f"not an amount: {text!r}") from None
    if value != value.to_integral_value():
        raise ValueError(f"{text!r} is finer than one wei (at most {_places(written_unit)} decimal places)")
    return int(value)


def format_amount(wei: int, unit: str = "FMT") -> str:
    """Format base units exactly, without trailing zeros: ``format_amount(5 * 10**17) == "0.5 FMT"``."""
    if wei < 0:
        raise ValueError(f"amount must not be negative: {wei}")
    per = UNITS[unit.upper()]
    whole, frac = divmod(wei, per)
    if frac == 0:
        return f"{whole} {unit}"
    places = _places(unit.upper())
    return f"{whole}.{str(frac).rjust(places, '0').rstrip('0')} {unit}"


def _places(unit: str) -> int:
    return len(str(UNITS[unit])) - 1
