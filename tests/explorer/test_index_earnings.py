"""The pool maths alone (the contract comparison is in test_history_queries.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from framemesh.explorer.index.earnings import (
    PRECISE_PERC_DIVISOR,
    OrchestratorPools,
    pending,
    precise_perc_of,
    split_fees,
    split_reward,
    split_segment,
)

TOKEN = 10**18


def test_the_cut_and_the_share_split_as_the_contract_rounds() -> None:
    split = split_reward(1001, 100_000)  # 10%
    assert (split.commission, split.delegators) == (100, 901)
    assert split_fees(1001, 250_000) == (751, 250)  # 25% shared, rounded down
    assert precise_perc_of(10, 1, 3) == 3 and precise_perc_of(5, 1, 0) == 0


@given(
    st.integers(1, 10**6).map(lambda x: x * TOKEN),
    st.lists(st.integers(0, 10**4).map(lambda x: x * TOKEN), min_size=1, max_size=8),
    st.integers(0, 10**6),
)
def test_an_orchestrator_alone_earns_everything_it_mints(stake: int, mints: list[int], cut: int) -> None:
    pools = OrchestratorPools()
    pools.pin(1)  # its bond in round 1
    total = stake
    for i, minted in enumerate(mints):
        r = 2 + i
        pools.reward(r, minted, cut, total)
        total += minted
    got = pending(pools, bonded=stake, fees=0, last_claim=1, round_=1 + len(mints), is_self=True)
    # a few wei lost to the 1e27 fixed point at each reward, never made up
    assert 0 <= total - got.stake <= len(mints) * 10 + total // 10**17


def test_two_delegators_share_by_stake_after_the_cut() -> None:
    pools = OrchestratorPools()
    pools.pin(1)
    # round 2: stake 1000 (orchestrator 750 + delegator 250), 100 minted, 20% cut
    pools.reward(2, 100 * TOKEN, 200_000, 1000 * TOKEN)
    delegator = pending(pools, bonded=250 * TOKEN, fees=0, last_claim=1, round_=2, is_self=False)
    assert delegator.stake == 250 * TOKEN + 20 * TOKEN  # a quarter of the 80 shared
    me = pending(pools, bonded=750 * TOKEN, fees=0, last_claim=1, round_=2, is_self=True)
    assert me.stake == 750 * TOKEN + 60 * TOKEN + 20 * TOKEN  # three quarters, plus the cut
    # round 3: fees of 1 ETH, half shared, on round 2's stake grown by its reward
    pools.fees(3, TOKEN, 500_000, 1100 * TOKEN)
    delegator = pending(pools, bonded=250 * TOKEN, fees=0, last_claim=1, round_=3, is_self=False)
    assert abs(delegator.fees - TOKEN // 2 * 270 // 1100) <= 1


def test_a_round_without_a_reward_falls_back_to_the_last_factor() -> None:
    pools = OrchestratorPools()
    pools.reward(2, 10 * TOKEN, 0, 100 * TOKEN)
    assert pools.latest(5) == (pools.crf[2], 0)
    assert pools.end_of_round(4) == (pools.crf[2], 0) and pools.end_of_round(1) == (0, 0)
    pools.pin(5)
    assert pools.crf[5] == pools.crf[2]


@given(st.lists(st.integers(0, 50).map(lambda x: x * TOKEN), min_size=1, max_size=6), st.integers(0, 10**6))
def test_rounds_of_a_segment_add_up_to_its_totals(mints: list[int], cut: int) -> None:
    pools = OrchestratorPools()
    pools.pin(1)
    stake = 1000 * TOKEN
    for i, minted in enumerate(mints):
        pools.reward(2 + i, minted, cut, stake)
        stake += minted
    end = 1 + len(mints)
    total = pending(pools, bonded=400 * TOKEN, fees=0, last_claim=1, round_=end, is_self=False)
    rows = split_segment(pools, bonded=400 * TOKEN, start_round=1, end_round=end,
                         total_rewards=total.stake - 400 * TOKEN, total_fees=total.fees)
    assert [r.round for r in rows] == list(range(2, end + 1))
    assert sum(r.rewards for r in rows) == total.stake - 400 * TOKEN
    assert all(r.rewards >= 0 for r in rows)
    assert rows[0].stake == 400 * TOKEN and rows[-1].stake + rows[-1].rewards == total.stake


def test_an_empty_segment_has_no_rounds() -> None:
    assert split_segment(OrchestratorPools(), bonded=1, start_round=3, end_round=3, total_rewards=0, total_fees=0) == []
    assert PRECISE_PERC_DIVISOR == 10**27
