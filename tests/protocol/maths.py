"""Livepeer's fixed-point helpers, in Python, to compute expected values to the wei."""

PERC = 10**6  # reward cut, fee share, slash amounts
MINTER_PERC = 10**9  # inflation, inflation change, target bonding rate
PRECISE = 10**27  # cumulative reward and fee factors


def perc_of(amount: int, perc: int) -> int:
    return amount * perc // PERC


def precise_perc_of(amount: int, num: int, den: int) -> int:
    return amount * (num * PRECISE // den) // PRECISE


def minter_perc_of(amount: int, num: int, den: int) -> int:
    return amount * (num * MINTER_PERC // den) // MINTER_PERC
