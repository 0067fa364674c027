"""BondingManager: registration, delegation, rounds of stake, reward and fee splits,
unbonding, the active set, slashing."""

from __future__ import annotations

import boa
import pytest

from .conftest import NUM_ACTIVE, UNBONDING_PERIOD, ZERO, Protocol
from .maths import PRECISE, minter_perc_of, perc_of, precise_perc_of

E18 = 10**18


def test_register_sets_terms_and_joins_pool_next_round(proto: Protocol, accounts: list[str]) -> None:
    o = accounts[0]
    proto.register(o, 100 * E18, reward_cut=250_000, fee_share=750_000)
    t = proto.bonding.getTranscoder(o)
    assert (t.rewardCut, t.feeShare) == (250_000, 750_000)
    assert proto.bonding.isRegisteredTranscoder(o)
    assert proto.pool() == [o]
    assert t.activationRound == proto.round() + 1
    assert not proto.bonding.isActiveTranscoder(o)
    proto.next_round()
    assert proto.bonding.isActiveTranscoder(o)
    assert proto.bonding.currentRoundTotalActiveStake() == 100 * E18


def test_terms_are_checked(proto: Protocol, accounts: list[str]) -> None:
    o = accounts[0]
    with boa.env.prank(o), boa.reverts("transcoder must be registered"):
        proto.bonding.transcoder(0, 0)
    proto.bond(o, E18, o)
    with boa.env.prank(o), boa.reverts("invalid rewardCut percentage"):
        proto.bonding.transcoder(1_000_001, 0)
    with boa.env.prank(o), boa.reverts("invalid feeShare percentage"):
        proto.bonding.transcoder(0, 1_000_001)


def test_terms_locked_at_end_of_round(proto: Protocol, accounts: list[str]) -> None:
    o = accounts[0]
    proto.bond(o, E18, o)
    boa.env.time_travel(blocks=proto.rounds.roundLength() - 1)
    assert proto.rounds.currentRoundLocked()
    with boa.env.prank(o), boa.reverts("can't update transcoder params, current round is locked"):
        proto.bonding.transcoder(0, 0)


def test_active_orchestrator_changes_terms_only_after_reward(proto: Protocol, accounts: list[str]) -> None:
    o = accounts[0]
    proto.register(o, 10 * E18)
    proto.next_round()
    with boa.env.prank(o), boa.reverts("caller can't be active or must have already called reward for the current round"):
        proto.bonding.transcoder(1, 1)
    proto.reward(o)
    with boa.env.prank(o):
        proto.bonding.transcoder(1, 1)
    assert proto.bonding.getTranscoder(o).rewardCut == 1


def test_stake_changes_count_from_next_round(proto: Protocol, accounts: list[str]) -> None:
    o, d = accounts[0], accounts[1]
    proto.register(o, 100 * E18)
    proto.next_round()
    proto.bond(d, 50 * E18, o)
    assert proto.bonding.transcoderTotalStake(o) == 150 * E18
    assert proto.bonding.transcoderActiveStake(o) == 100 * E18
    assert proto.bonding.currentRoundTotalActiveStake() == 100 * E18
    assert proto.bonding.nextRoundTotalActiveStake() == 150 * E18
    assert proto.bonding.delegatorStatus(d) == 0  # pending
    proto.next_round()
    assert proto.bonding.transcoderActiveStake(o) == 150 * E18
    assert proto.bonding.currentRoundTotalActiveStake() == 150 * E18
    assert proto.bonding.delegatorStatus(d) == 1  # bonded


def test_reward_splits_exactly_by_reward_cut(proto: Protocol, accounts: list[str]) -> None:
    o, o2, d = accounts[0], accounts[1], accounts[2]
    proto.register(o, 1000 * E18, reward_cut=123_456)
    proto.register(o2, 2000 * E18)
    proto.bond(d, 3000 * E18, o)
    proto.next_round()
    mintable = proto.minter.currentMintableTokens()
    total_active = proto.bonding.currentRoundTotalActiveStake()
    assert total_active == 6000 * E18
    before = proto.token.balanceOf(proto.bonding.address)
    proto.reward(o)
    minted = proto.token.balanceOf(proto.bonding.address) - before
    assert minted == minter_perc_of(mintable, 4000 * E18, total_active)
    commission = perc_of(minted, 123_456)
    crf = PRECISE + precise_perc_of(PRECISE, minted - commission, 4000 * E18)
    assert proto.bonding.getTranscoderEarningsPoolForRound(o, proto.round())[0] == crf
    assert proto.bonding.getTranscoder(o).cumulativeRewards == commission
    proto.next_round()
    d_stake = precise_perc_of(3000 * E18, crf, PRECISE)
    o_stake = precise_perc_of(1000 * E18, crf, PRECISE) + commission
    assert proto.bonding.pendingStake(d, 0) == d_stake
    assert proto.bonding.pendingStake(o, 0) == o_stake
    # nothing is created: the split never exceeds what was minted, and loses at most rounding
    assert 0 <= 4000 * E18 + minted - (d_stake + o_stake) <= 2
    assert proto.bonding.transcoderTotalStake(o) == 4000 * E18 + minted
    # claiming moves the pending stake into the bonded amount
    with boa.env.prank(d):
        proto.bonding.claimEarnings(proto.round())
    assert proto.delegator(d)[0] == d_stake


def test_reward_once_per_round_and_only_when_active(proto: Protocol, accounts: list[str]) -> None:
    o, other = accounts[0], accounts[1]
    proto.register(o, 10 * E18)
    with boa.env.prank(o), boa.reverts("caller must be an active transcoder"):
        proto.bonding.reward()
    proto.next_round()
    proto.reward(o)
    with boa.env.prank(o), boa.reverts("caller has already called reward for the current round"):
        proto.bonding.reward()
    with boa.env.prank(other), boa.reverts("caller must be an active transcoder"):
        proto.bonding.reward()
    proto.next_round()
    proto.reward(o)  # a new round: allowed again


def test_reward_needs_initialized_round(proto: Protocol, accounts: list[str]) -> None:
    o = accounts[0]
    proto.register(o, 10 * E18)
    proto.next_round(initialize=False)
    with boa.env.prank(o), boa.reverts("current round is not initialized"):
        proto.bonding.reward()


def test_minted_per_round_never_exceeds_mintable(proto: Protocol, accounts: list[str]) -> None:
    orchs = accounts[:NUM_ACTIVE]
    for i, o in enumerate(orchs):
        proto.register(o, (i + 1) * 777 * E18 + i)
    for _ in range(3):
        proto.next_round()
        for o in orchs:
            proto.reward(o)
        minted, mintable = proto.minter.currentMintedTokens(), proto.minter.currentMintableTokens()
        assert minted <= mintable
        # only rounding is left over: each share is rounded to 1e-9 of the mintable
        assert mintable - minted <= NUM_ACTIVE * (mintable // 10**9 + 1)


def test_unbond_lock_withdraw_not_before_period(proto: Protocol, accounts: list[str]) -> None:
    o, d = accounts[0], accounts[1]
    proto.register(o, 10 * E18)
    proto.bond(d, 5 * E18, o)
    proto.next_round()
    with boa.env.prank(d):
        proto.bonding.unbond(2 * E18)
    lock_round = proto.round() + UNBONDING_PERIOD
    assert tuple(proto.bonding.getDelegatorUnbondingLock(d, 0)) == (2 * E18, lock_round)
    assert proto.bonding.transcoderTotalStake(o) == 13 * E18
    assert proto.bonding.getTotalBonded() == 13 * E18
    for _ in range(UNBONDING_PERIOD - 1):
        proto.next_round()
        with boa.env.prank(d), boa.reverts("withdraw round must be before or equal to the current round"):
            proto.bonding.withdrawStake(0)
    proto.next_round()
    with boa.env.prank(d):
        proto.bonding.withdrawStake(0)
    assert proto.token.balanceOf(d) == 2 * E18
    with boa.env.prank(d), boa.reverts("invalid unbonding lock ID"):
        proto.bonding.withdrawStake(0)


def test_unbond_checks(proto: Protocol, accounts: list[str]) -> None:
    o, d = accounts[0], accounts[1]
    proto.register(o, 10 * E18)
    with boa.env.prank(d), boa.reverts("caller must be bonded"):
        proto.bonding.unbond(1)
    proto.bond(d, 5 * E18, o)
    with boa.env.prank(d), boa.reverts("caller must be bonded"):
        proto.bonding.unbond(1)  # still pending
    proto.next_round()
    with boa.env.prank(d), boa.reverts("amount is greater than bonded amount"):
        proto.bonding.unbond(5 * E18 + 1)
    with boa.env.prank(d), boa.reverts("unbond amount must be greater than 0"):
        proto.bonding.unbond(0)


def test_rebond_restores_stake(proto: Protocol, accounts: list[str]) -> None:
    o, d = accounts[0], accounts[1]
    proto.register(o, 10 * E18)
    proto.bond(d, 5 * E18, o)
    proto.next_round()
    with boa.env.prank(d):
        proto.bonding.unbond(2 * E18)
        proto.bonding.rebond(0)
    assert proto.delegator(d)[0] == 5 * E18
    assert proto.bonding.transcoderTotalStake(o) == 15 * E18
    assert proto.bonding.getDelegatorUnbondingLock(d, 0)[0] == 0
    with boa.env.prank(d), boa.reverts("invalid unbonding lock ID"):
        proto.bonding.rebond(0)


def test_full_unbond_then_rebond_from_unbonded(proto: Protocol, accounts: list[str]) -> None:
    o, o2, d = accounts[0], accounts[1], accounts[2]
    proto.register(o, 10 * E18)
    proto.register(o2, 10 * E18)
    proto.bond(d, 5 * E18, o)
    proto.next_round()
    with boa.env.prank(d):
        proto.bonding.unbond(5 * E18)
    assert proto.bonding.delegatorStatus(d) == 2
    assert proto.delegator(d)[2] == ZERO
    with boa.env.prank(d), boa.reverts("caller must be bonded"):
        proto.bonding.rebond(0)
    with boa.env.prank(d):
        proto.bonding.rebondFromUnbonded(o2, 0)
    assert proto.delegator(d)[2] == o2
    assert proto.bonding.transcoderTotalStake(o2) == 15 * E18
    assert proto.bonding.transcoderTotalStake(o) == 10 * E18


def test_move_delegation(proto: Protocol, accounts: list[str]) -> None:
    o, o2, d = accounts[0], accounts[1], accounts[2]
    proto.register(o, 10 * E18)
    proto.register(o2, 10 * E18)
    proto.bond(d, 5 * E18, o)
    proto.next_round()
    with boa.env.prank(d):
        proto.bonding.bond(0, o2)
    assert proto.bonding.transcoderTotalStake(o) == 10 * E18
    assert proto.bonding.transcoderTotalStake(o2) == 15 * E18
    assert proto.delegator(d)[4] == proto.round() + 1  # start round moves to the next round
    # an orchestrator can't delegate away its self-stake
    with boa.env.prank(o), boa.reverts("registered transcoders can't delegate towards other addresses"):
        proto.bonding.bond(0, o2)
    with boa.env.prank(accounts[5]), boa.reverts("delegation amount must be greater than 0"):
        proto.bonding.bond(0, o)


def test_active_set_is_top_n(proto: Protocol, accounts: list[str]) -> None:
    stakes = [7, 3, 9, 1, 12, 5, 8, 2]  # in registration order
    orchs = accounts[: len(stakes)]
    for o, s in zip(orchs, stakes):
        proto.register(o, s * E18)
    expected = [o for _, o in sorted(zip(stakes, orchs), key=lambda x: -x[0])][:NUM_ACTIVE]
    assert proto.pool() == expected
    proto.next_round()
    active = [o for o in orchs if proto.bonding.isActiveTranscoder(o)]
    assert sorted(active) == sorted(expected)
    assert proto.bonding.currentRoundTotalActiveStake() == sum(sorted(stakes)[-NUM_ACTIVE:]) * E18
    assert proto.bonding.currentRoundActiveSetSize() == NUM_ACTIVE
    # a delegation lifts an outsider above the smallest member: it joins, the smallest leaves next round
    outsider = orchs[stakes.index(3)]
    smallest = expected[-1]
    proto.bond(accounts[10], 10 * E18, outsider)
    assert outsider in proto.pool() and smallest not in proto.pool()
    assert proto.bonding.isActiveTranscoder(smallest)  # the set of this round is fixed
    assert not proto.bonding.isActiveTranscoder(outsider)
    proto.next_round()
    assert proto.bonding.isActiveTranscoder(outsider) and not proto.bonding.isActiveTranscoder(smallest)
    stakes_in_pool = [proto.bonding.transcoderTotalStake(o) for o in proto.pool()]
    assert stakes_in_pool == sorted(stakes_in_pool, reverse=True)


def test_hints_place_in_o1_and_bad_hints_still_work(proto: Protocol, accounts: list[str]) -> None:
    orchs = accounts[:4]
    for i, o in enumerate(orchs):
        proto.register(o, (i + 1) * 10 * E18)
    # o0 (10) rises to 35: between o2 (30) and o3 (40)
    d = accounts[10]
    proto.fund(d, 25 * E18)
    prev, nxt = proto.hints(orchs[0], 35 * E18)
    assert (prev, nxt) == (orchs[3], orchs[2])
    with boa.env.prank(d):
        proto.bonding.bondWithHint(25 * E18, orchs[0], ZERO, ZERO, prev, nxt)
    assert proto.pool() == [orchs[3], orchs[0], orchs[2], orchs[1]]
    # wrong hints are not trusted: the position is found anyway
    d2 = accounts[11]
    proto.fund(d2, 100 * E18)
    with boa.env.prank(d2):
        proto.bonding.bondWithHint(100 * E18, orchs[1], ZERO, ZERO, orchs[2], orchs[3])
    assert proto.pool() == [orchs[1], orchs[3], orchs[0], orchs[2]]


def test_fees_split_exactly_by_fee_share(proto: Protocol, accounts: list[str]) -> None:
    from eth_account import Account

    from . import tickets as tk

    o, d = accounts[0], accounts[1]
    proto.register(o, 1000 * E18, fee_share=654_321)
    proto.bond(d, 3000 * E18, o)
    proto.next_round()
    gateway = Account.create("fees-gateway")
    boa.env.set_balance(gateway.address, 10**21)
    with boa.env.prank(gateway.address):
        proto.broker.fundDeposit(value=10**19)
    rnd = proto.round()
    face = 10**17 + 12345
    t = tk.Ticket(o, gateway.address, face, 2**256 - 1, 1, tk.rand_hash(5), tk.aux_data(rnd, bytes(proto.rounds.blockHashForRound(rnd))))
    with boa.env.prank(o):
        proto.broker.redeemWinningTicket(t.as_tuple(), tk.sign(gateway.key, t), 5)
    delegators_fees = perc_of(face, 654_321)
    commission = face - delegators_fees
    cff = precise_perc_of(PRECISE, delegators_fees, 4000 * E18)
    assert proto.bonding.getTranscoderEarningsPoolForRound(o, rnd)[1] == cff
    proto.next_round()
    d_fees = precise_perc_of(3000 * E18, cff, PRECISE)
    o_fees = precise_perc_of(1000 * E18, cff, PRECISE) + commission
    assert proto.bonding.pendingFees(d, 0) == d_fees
    assert proto.bonding.pendingFees(o, 0) == o_fees
    assert 0 <= face - d_fees - o_fees <= 2
    # withdrawing pays ETH out of the broker, no more than earned
    r = accounts[12]
    with boa.env.prank(d):
        proto.bonding.withdrawFees(r, d_fees)
    assert boa.env.get_balance(r) == d_fees
    with boa.env.prank(d), boa.reverts("insufficient fees to withdraw"):
        proto.bonding.withdrawFees(r, 1)


def test_fees_after_reward_after_a_missed_round_are_all_claimable(proto: Protocol, accounts: list[str]) -> None:
    """An orchestrator misses reward() in round r-1, calls it in round r and is then paid
    a ticket in r: the fee factor builds on the reward factor of r-1 (stored by that
    reward), so the orchestrator and its delegator can claim the whole fee, to the wei."""
    from eth_account import Account

    from . import tickets as tk

    o, d = accounts[0], accounts[1]
    proto.register(o, 1000 * E18, reward_cut=100_000, fee_share=654_321)
    proto.bond(d, 3000 * E18, o)
    for _ in range(2):
        proto.next_round()
        proto.reward(o)
    rewarded = proto.round()
    proto.next_round()  # no reward() in this round
    missed = proto.round()
    rnd = proto.next_round()
    assert proto.bonding.getTranscoderEarningsPoolForRound(o, missed)[0] == 0
    proto.reward(o)
    crf = proto.bonding.getTranscoderEarningsPoolForRound(o, rewarded)[0]
    assert crf > PRECISE
    assert proto.bonding.getTranscoderEarningsPoolForRound(o, missed)[0] == crf
    gateway = Account.create("missed-round-gateway")
    boa.env.set_balance(gateway.address, 10**21)
    with boa.env.prank(gateway.address):
        proto.broker.fundDeposit(value=10**19)
    face = 10**18 + 12345
    t = tk.Ticket(o, gateway.address, face, 2**256 - 1, 1, tk.rand_hash(5), tk.aux_data(rnd, bytes(proto.rounds.blockHashForRound(rnd))))
    with boa.env.prank(o):
        proto.broker.redeemWinningTicket(t.as_tuple(), tk.sign(gateway.key, t), 5)
    stake = proto.bonding.transcoderActiveStake(o)
    active_cr = proto.bonding.getTranscoder(o).activeCumulativeRewards
    delegators_fees = perc_of(face, 654_321)
    commission = face - delegators_fees
    cff = precise_perc_of(crf, delegators_fees, stake)
    assert proto.bonding.getTranscoderEarningsPoolForRound(o, rnd)[1] == cff
    proto.next_round()
    # both last claimed in the bond round (factors 1e27 and 0)
    d_fees = precise_perc_of(3000 * E18, cff, PRECISE)
    o_fees = precise_perc_of(1000 * E18, cff, PRECISE) + precise_perc_of(delegators_fees, active_cr, stake) + commission
    assert proto.bonding.pendingFees(d, 0) == d_fees
    assert proto.bonding.pendingFees(o, 0) == o_fees
    assert 0 <= face - d_fees - o_fees <= 3  # rounding dust only
    for who, amount in ((d, d_fees), (o, o_fees)):
        with boa.env.prank(who):
            proto.bonding.withdrawFees(accounts[12], amount)
    assert boa.env.get_balance(accounts[12]) == d_fees + o_fees
    assert proto.broker.feesHeld() == face - d_fees - o_fees


def test_slashing(proto: Protocol, accounts: list[str]) -> None:
    o, finder, v = accounts[0], accounts[1], accounts[2]
    proto.register(o, 1000 * E18)
    proto.next_round()
    with boa.env.prank(v), boa.reverts("caller must be the verifier"):
        proto.bonding.slashTranscoder(o, finder, 100_000, 500_000)
    with boa.env.prank(v), boa.reverts("caller must be the governor"):
        proto.bonding.setVerifier(v)
    with boa.env.prank(proto.governor):
        proto.bonding.setVerifier(v)
    supply = proto.token.totalSupply()
    with boa.env.prank(v):
        proto.bonding.slashTranscoder(o, finder, 100_000, 500_000)
    penalty = 100 * E18
    assert proto.delegator(o)[0] == 1000 * E18 - penalty
    assert proto.token.balanceOf(finder) == penalty // 2
    assert proto.token.totalSupply() == supply - penalty // 2
    assert o not in proto.pool()
    assert proto.bonding.getTotalBonded() == 900 * E18
    proto.next_round()
    assert not proto.bonding.isActiveTranscoder(o)


def test_claim_before_reward_rounds_follow_livepeer(proto: Protocol, accounts: list[str]) -> None:
    """A delegator that claims in a round keeps the stake that round's reward would
    have added only from the next round on: Livepeer's semantics, kept to the wei."""
    o, d = accounts[0], accounts[1]
    proto.register(o, 100 * E18)
    proto.bond(d, 100 * E18, o)
    proto.next_round()
    proto.next_round()
    proto.reward(o)
    stake_after_reward = proto.bonding.pendingStake(d, 0)
    assert stake_after_reward > 100 * E18
    proto.next_round()
    assert proto.bonding.pendingStake(d, 0) == stake_after_reward


@pytest.mark.parametrize("fn,args", [("setCurrentRoundTotalActiveStake", ()), ("updateTranscoderWithFees", (ZERO, 1, 1))])
def test_system_only_entry_points(proto: Protocol, accounts: list[str], fn: str, args: tuple) -> None:
    with boa.env.prank(accounts[0]), boa.reverts():
        getattr(proto.bonding, fn)(*args)


def test_governor_setters_emit_events(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the governor"):
        proto.bonding.setUnbondingPeriod(9)
    with boa.env.prank(proto.governor):
        proto.bonding.setUnbondingPeriod(9)
        logs = proto.bonding.get_logs()
        proto.bonding.setNumActiveTranscoders(7)
        logs2 = proto.bonding.get_logs()
    assert proto.bonding.unbondingPeriod() == 9 and proto.bonding.numActiveTranscoders() == 7
    assert type(logs[0]).__name__ == "ParameterUpdate" and (logs[0].param, logs[0].value) == ("unbondingPeriod", 9)
    assert (logs2[0].param, logs2[0].value) == ("numActiveTranscoders", 7)


def test_reward_uses_the_rounds_stake_not_the_next(proto: Protocol, accounts: list[str]) -> None:
    o, o2, d = accounts[0], accounts[1], accounts[2]
    proto.register(o, 100 * E18)
    proto.register(o2, 300 * E18)
    proto.next_round()
    proto.bond(d, 500 * E18, o)  # counts from the next round only
    mintable = proto.minter.currentMintableTokens()
    before = proto.token.balanceOf(proto.bonding.address)
    proto.reward(o)
    minted = proto.token.balanceOf(proto.bonding.address) - before
    assert minted == minter_perc_of(mintable, 100 * E18, 400 * E18)
    # the reward itself is stake from the next round on
    assert proto.bonding.transcoderActiveStake(o) == 100 * E18
    assert proto.bonding.transcoderTotalStake(o) == 600 * E18 + minted


def test_pool_positions_follow_unbonds_without_hints(proto: Protocol, accounts: list[str]) -> None:
    orchs = accounts[:4]
    for i, o in enumerate(orchs):
        proto.register(o, (i + 1) * 10 * E18)
    proto.next_round()
    with boa.env.prank(orchs[3]):
        proto.bonding.unbond(35 * E18)  # 40 -> 5: from first to last
    assert proto.pool() == [orchs[2], orchs[1], orchs[0], orchs[3]]
    with boa.env.prank(orchs[2]):
        proto.bonding.unbond(30 * E18)  # everything: resigns
    assert proto.pool() == [orchs[1], orchs[0], orchs[3]]
    assert proto.bonding.nextRoundTotalActiveStake() == 35 * E18
    assert proto.bonding.isActiveTranscoder(orchs[2])  # until the round ends
    proto.next_round()
    assert not proto.bonding.isActiveTranscoder(orchs[2])
    assert proto.bonding.currentRoundTotalActiveStake() == 35 * E18
