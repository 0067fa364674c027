"""Gas of the hot paths with 1, 10 and 100 orchestrators and 1,000 delegators, held to
targets.  The scenario and how it measures are in `gas_scenario.py` (shared with
`benchmarks/gas.py`, which reports the figures next to Livepeer's)."""

from __future__ import annotations

from typing import Any

import pytest

from .gas_scenario import measure

TARGET_REWARD = 150_000
TARGET_REDEEM = 150_000
TARGET_BOND = 200_000


@pytest.fixture(scope="module")
def measured(deployers: dict[str, Any]) -> dict[int, dict[str, int]]:
    results = measure(deployers)
    print("\n" + "gas".ljust(54) + "".join(f"{n:>10} orch" for n in results))
    for name in results[1]:
        print(name.ljust(54) + "".join(f"{results[n][name]:>15,}" for n in results))
    return results


def test_reward_under_target(measured: dict[int, dict[str, int]]) -> None:
    for n, gas in measured.items():
        assert gas["reward"] < TARGET_REWARD, (n, gas["reward"])
        assert gas["reward (after a missed round)"] < TARGET_REWARD, (n, gas["reward (after a missed round)"])


def test_redeem_under_target(measured: dict[int, dict[str, int]]) -> None:
    for n, gas in measured.items():
        assert gas["redeemWinningTicket (first in round)"] < TARGET_REDEEM, (n, gas)
        assert gas["redeemWinningTicket"] < TARGET_REDEEM, (n, gas)
        assert gas["redeemWinningTicket (first in round, after a claim)"] < TARGET_REDEEM, (n, gas)


def test_bond_under_target(measured: dict[int, dict[str, int]]) -> None:
    for n, gas in measured.items():
        assert gas["bond (new delegator, hints)"] < TARGET_BOND, (n, gas)
        assert gas["bond (existing delegator, hints)"] < TARGET_BOND, (n, gas)


def test_flat_in_orchestrators(measured: dict[int, dict[str, int]]) -> None:
    """O(1): the hot paths cost the same, within a few storage-slot differences, with 1 or 100 orchestrators."""
    for name in ("reward", "redeemWinningTicket", "bond (new delegator, hints)", "claimEarnings"):
        low, high = min(m[name] for m in measured.values()), max(m[name] for m in measured.values())
        assert high - low < 25_000, (name, low, high)
