"""How numbers read on the pages (Jinja filters). Pure."""

from __future__ import annotations

import math
import time
from decimal import Decimal

from jinja2 import Environment

DASH = "—"
WEI = 10**18


def tokens(value: int | None, unit: str = "FMT") -> str:
    """Base units as whole tokens with at most 2 decimals: 3000500000000000000000 -> '3,000.5 FMT'."""
    if value is None:
        return DASH
    text = f"{Decimal(value) / WEI:,.2f}".rstrip("0").rstrip(".")
    return f"{text} {unit}"


def eth(value: int | None) -> str:
    """Wei as ETH, or gwei when under a millionth of an ETH (ticket fees are small)."""
    if value is None:
        return DASH
    if value == 0:
        return "0 ETH"
    if value < 10**12:
        return f"{Decimal(value) / 10**9:,.4f}".rstrip("0").rstrip(".") + " gwei"
    return f"{Decimal(value) / WEI:,.9f}".rstrip("0").rstrip(".") + " ETH"  # to the gwei: a deposit less its tickets


def pct(value: float | None, places: int = 1) -> str:
    if value is None:
        return DASH
    return f"{value * 100:.{places}f}%"


def pctg(value: float | None, digits: int = 3) -> str:
    """A percentage to `digits` significant digits: a tiny inflation reads 0.0000137%, not 0.0000%."""
    if value is None:
        return DASH
    percent = value * 100
    if percent == 0:
        return "0%"
    places = max(0, digits - 1 - math.floor(math.log10(abs(percent))))
    return f"{percent:.{places}f}%"


def ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}×"


def num(value: float | int | None, places: int = 0) -> str:
    if value is None:
        return DASH
    return f"{value:,.{places}f}" if places else f"{value:,}"


def short(address: str | None) -> str:
    """0x1234…abcd: enough to tell addresses apart on a page; the link has it whole."""
    if not address:
        return DASH
    return address if len(address) < 14 else f"{address[:6]}…{address[-4:]}"


def ago(when: float | None, now: float | None = None) -> str:
    if when is None:
        return DASH
    seconds = max(0.0, (now if now is not None else time.time()) - when)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def pctnum(value: float | None) -> float | None:
    """A fraction as a percentage number, for charts."""
    return None if value is None else round(value * 100, 6)


def times(values: list[float | None], factor: float) -> list[float | None]:
    """A chart's column in another unit (ETH to gwei)."""
    return [None if v is None else v * factor for v in values]


def install(env: Environment) -> None:
    env.filters.update(tokens=tokens, eth=eth, pct=pct, pctg=pctg, ratio=ratio, num=num, short=short, ago=ago, pctnum=pctnum, times=times)
