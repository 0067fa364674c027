"""The economics model alone (no chain): rules by hand, and invariants under random moves."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framemesh.protocol.model import (
    BONDED,
    MAX_ROUND,
    PENDING,
    PRECISE_DIVISOR,
    UNBONDED,
    Economy,
    Params,
    Revert,
    minter_perc_of,
    perc_of,
    precise_perc_of,
)

E18 = 10**18
SUPPLY = 10_000_000 * E18


def economy(num_active: int = 3, **params: int) -> Economy:
    e = Economy(Params(num_active=num_active, unbonding_period=2, **params), {"bank": SUPPLY})
    e.initialize_round(1)
    return e


def funded(e: Economy, who: str, amount: int) -> None:
    e.transfer("bank", who, amount)


def register(e: Economy, who: str, stake: int, reward_cut: int = 0, fee_share: int = 0) -> None:
    funded(e, who, stake)
    e.bond(who, stake, who)
    e.transcoder(who, reward_cut, fee_share)


def state(e: Economy) -> dict[str, Any]:
    return copy.deepcopy(vars(e))


# ---------------------------------------------------------------- the Minter


def test_inflation_moves_one_step_toward_target_and_stops_at_zero() -> None:
    e = economy(inflation=1_200, inflation_change=500)
    assert e.inflation == 1_700  # round 1: nothing bonded, below the target
    register(e, "o", SUPPLY * 6 // 10)  # 60% bonded: above the target
    seen = []
    for _ in range(6):
        e.initialize_round()
        seen.append(e.inflation)
    assert seen == [1_200, 700, 200, 0, 0, 0]
    assert e.mintable == 0


def test_inflation_holds_at_the_target_and_rises_below_it() -> None:
    e = economy(inflation=1_000, inflation_change=7, target_bonding_rate=500_000_000)
    register(e, "o", SUPPLY // 2)
    e.initialize_round()
    assert e.bonding_rate() == 500_000_000 and e.inflation == 1_007  # was below at round 1 only
    e.initialize_round()
    assert e.inflation == 1_007
    e.unbond("o", E18)
    e.initialize_round()
    assert e.inflation == 1_014


def test_mintable_is_supply_times_inflation_rounded_down() -> None:
    e = Economy(Params(inflation=333_333), {"bank": 10**18 + 7})
    e.initialize_round(5)
    assert e.mintable == (10**18 + 7) * 333_833 // 10**9


# ---------------------------------------------------------------- the active set and rounds of stake


def test_active_set_is_the_top_n_fixed_at_round_start() -> None:
    e = economy(num_active=2)
    register(e, "a", 100 * E18)
    register(e, "b", 200 * E18)
    register(e, "c", 50 * E18)  # the pool is full and c is smallest: it does not join
    assert e.pool == ["b", "a"]
    assert not e.is_active("a")  # not before the next round
    e.initialize_round()
    assert e.is_active("a") and e.is_active("b") and not e.is_active("c")
    funded(e, "d", 100 * E18)
    e.bond("d", 100 * E18, "c")  # c overtakes a: a leaves next round, not this one
    assert e.pool == ["b", "c"]
    assert e.is_active("a") and e.orchestrators["a"].deactivation_round == e.round + 1
    assert e.orchestrators["c"].deactivation_round == MAX_ROUND
    assert e.current_round_total_active_stake == 300 * E18
    assert e.next_round_total_active_stake == 350 * E18
    e.initialize_round()
    assert not e.is_active("a") and e.is_active("c")
    assert e.current_round_total_active_stake == 350 * E18


def test_stake_changes_count_from_next_round() -> None:
    e = economy()
    register(e, "o", 100 * E18)
    e.initialize_round()
    funded(e, "d", 50 * E18)
    e.bond("d", 50 * E18, "o")
    assert e.total_stake("o") == 150 * E18 and e.active_stake("o") == 100 * E18
    assert e.status("d") == PENDING
    e.initialize_round()
    assert e.active_stake("o") == 150 * E18 and e.status("d") == BONDED


# ---------------------------------------------------------------- rewards and fees


def test_reward_splits_by_reward_cut_and_stake() -> None:
    e = economy()
    register(e, "o", 300 * E18, reward_cut=123_456)
    register(e, "p", 100 * E18)
    funded(e, "d", 100 * E18)
    e.bond("d", 100 * E18, "o")
    e.initialize_round()
    minted = e.reward("o")
    assert minted == minter_perc_of(e.mintable, 400 * E18, 500 * E18)
    cut = perc_of(minted, 123_456)
    to_delegators = minted - cut
    factor = PRECISE_DIVISOR + precise_perc_of(PRECISE_DIVISOR, to_delegators, 400 * E18)
    assert e.pending_stake("d") == precise_perc_of(100 * E18, factor, PRECISE_DIVISOR)
    assert e.pending_stake("o") == precise_perc_of(300 * E18, factor, PRECISE_DIVISOR) + cut
    assert e.pending_stake("o") + e.pending_stake("d") <= 400 * E18 + minted
    assert e.total_bonded == 500 * E18 + minted
    with pytest.raises(Revert, match="already called reward"):
        e.reward("o")


def test_fees_split_by_fee_share() -> None:
    e = economy()
    register(e, "o", 300 * E18, fee_share=750_000)
    funded(e, "d", 100 * E18)
    e.bond("d", 100 * E18, "o")
    e.initialize_round()
    e.update_transcoder_with_fees("o", 4 * 10**18)
    to_delegators = perc_of(4 * 10**18, 750_000)
    assert e.pending_fees("d") == precise_perc_of(100 * E18, precise_perc_of(PRECISE_DIVISOR, to_delegators, 400 * E18), PRECISE_DIVISOR)
    assert e.pending_fees("o") + e.pending_fees("d") <= 4 * 10**18
    assert 4 * 10**18 - (e.pending_fees("o") + e.pending_fees("d")) < 10
    with pytest.raises(Revert, match="not an active orchestrator"):
        e.update_transcoder_with_fees("d", 1)


# ---------------------------------------------------------------- unbonding, refusals


def test_unbond_withdraw_after_period_rebond() -> None:
    e = economy()
    register(e, "o", 100 * E18)
    funded(e, "d", 10 * E18)
    e.bond("d", 10 * E18, "o")
    with pytest.raises(Revert, match="caller must be bonded"):
        e.unbond("d", E18)  # still pending
    e.initialize_round()
    first = e.unbond("d", 4 * E18)
    second = e.unbond("d", E18)
    assert e.total_stake("o") == 105 * E18
    with pytest.raises(Revert, match="withdraw round"):
        e.withdraw_stake("d", first)
    e.rebond("d", second)
    assert e.total_stake("o") == 106 * E18
    e.initialize_round()
    e.initialize_round()
    assert e.withdraw_stake("d", first) == 4 * E18
    assert e.balances["d"] == 4 * E18
    with pytest.raises(Revert, match="invalid unbonding lock ID"):
        e.withdraw_stake("d", first)


def test_a_refused_call_changes_nothing() -> None:
    e = economy()
    register(e, "o", 100 * E18)
    register(e, "p", 100 * E18)
    funded(e, "d", 10 * E18)
    e.bond("d", 10 * E18, "o")
    e.initialize_round()
    e.reward("o")
    e.initialize_round()
    e.reward("o")
    before = state(e)
    for call, reason in [
        (lambda: e.bond("o", 0, "p"), "registered transcoders can't delegate"),
        (lambda: e.bond("d", 11 * E18, "o"), "insufficient balance"),
        (lambda: e.unbond("d", 10**30), "amount is greater than bonded amount"),
        (lambda: e.rebond("d", 0), "invalid unbonding lock ID"),
        (lambda: e.rebond_from_unbonded("d", "p", 0), "caller must be unbonded"),
        (lambda: e.withdraw_fees("d", 1), "insufficient fees"),
        (lambda: e.transcoder("p", 1, 1), "caller can't be active"),
    ]:
        with pytest.raises(Revert, match=reason):
            call()
        assert state(e) == before, reason


def test_slash_burns_pays_finder_and_resigns() -> None:
    e = economy()
    register(e, "o", 100 * E18)
    e.initialize_round()
    supply = e.total_supply
    penalty = e.slash("o", "finder", 100_000, 500_000)
    assert penalty == 10 * E18
    assert e.balances["finder"] == 5 * E18 and e.total_supply == supply - 5 * E18
    assert e.pool == [] and e.is_active("o") and not e.is_active("o", e.round + 1)
    assert e.total_bonded == 90 * E18


def test_skipped_rounds_need_initializing() -> None:
    e = economy()
    register(e, "o", E18)
    e.skip_to(4)
    with pytest.raises(Revert, match="not initialized"):
        e.reward("o")
    e.initialize_round()
    assert e.round == 4 and e.reward("o") > 0


# ---------------------------------------------------------------- invariants under random moves

PEOPLE = ["o0", "o1", "o2", "d0", "d1", "d2"]
_who = st.sampled_from(PEOPLE)
_orch = st.sampled_from(PEOPLE[:3])
_moves = st.lists(
    st.one_of(
        st.tuples(st.just("round")),
        st.tuples(st.just("round")),
        st.tuples(st.just("reward"), _orch),
        st.tuples(st.just("reward"), _orch),
        st.tuples(st.just("bond"), _who, st.integers(0, 300 * E18), _orch),
        st.tuples(st.just("bond"), _who, st.integers(0, 300 * E18), _orch),
        st.tuples(st.just("unbond"), _who, st.integers(1, 100)),
        st.tuples(st.just("rebond"), _who, st.integers(0, 3)),
        st.tuples(st.just("withdraw"), _who, st.integers(0, 3)),
        st.tuples(st.just("claim"), _who),
        st.tuples(st.just("reward"), _orch),
        st.tuples(st.just("fees"), _orch, st.integers(1, 10**18)),
        st.tuples(st.just("terms"), _orch, st.integers(0, 10**6), st.integers(0, 10**6)),
        st.tuples(st.just("slash"), _orch, st.integers(0, 200_000)),
    ),
    min_size=10,
    max_size=80,
)


def _apply(e: Economy, move: tuple[Any, ...]) -> None:
    kind, *a = move
    if kind == "round":
        e.initialize_round()
    elif kind == "bond":
        e.bond(a[0], a[1], a[2])
    elif kind == "unbond":
        e.unbond(a[0], e.pending_stake(a[0]) * a[1] // 100)
    elif kind == "rebond":
        e.rebond(a[0], a[1])
    elif kind == "withdraw":
        e.withdraw_stake(a[0], a[1])
    elif kind == "claim":
        e.claim_earnings(a[0])
    elif kind == "reward":
        e.reward(a[0])
    elif kind == "fees":
        e.update_transcoder_with_fees(a[0], a[1])
    elif kind == "terms":
        e.transcoder(a[0], a[1], a[2])
    elif kind == "slash":
        e.slash(a[0], "finder", a[1], 500_000)


@settings(max_examples=150, deadline=None)
@given(moves=_moves)
def test_invariants_hold_under_random_moves(moves: list[tuple[Any, ...]]) -> None:
    e = economy(num_active=2)
    for i, o in enumerate(PEOPLE[:3]):
        register(e, o, (10 + i) * E18, 100_000 * i, 300_000 * i)
    for d in PEOPLE[3:]:
        funded(e, d, 1000 * E18)
    for move in moves:
        before = state(e)
        try:
            _apply(e, move)
        except Revert:
            assert state(e) == before, move
        # tokens: every holder's balance and the stake held add up to the supply
        assert sum(e.balances.values()) + e.held == e.total_supply
        # stake: total bonded is all the stake delegated; the held tokens cover every
        # stake with its unclaimed rewards and every unbonding lock
        assert e.total_bonded == sum(r.delegated_amount for r in e.delegators.values())
        locked = sum(lock.amount for r in e.delegators.values() for lock in r.locks.values())
        assert sum(e.pending_stake(d) for d in PEOPLE) + locked <= e.held
        assert e.minted_this_round <= e.mintable
        # the pool: sorted, at most the active set, its total the next round's active stake
        stakes = [e.total_stake(o) for o in e.pool]
        assert stakes == sorted(stakes, reverse=True) and len(stakes) <= e.num_active
        assert sum(stakes) == e.next_round_total_active_stake
        assert all(e.status(d) in (PENDING, BONDED, UNBONDED) for d in PEOPLE)
