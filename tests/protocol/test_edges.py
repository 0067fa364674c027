"""Edges of the rules: eviction and rejoining within a round, pool size changes, reward
hints, slashing with delegators, governor setters of the TicketBroker."""

from __future__ import annotations

import boa

from .conftest import NUM_ACTIVE, ZERO, Protocol

E18 = 10**18


def fill_pool(proto: Protocol, accounts: list[str]) -> list[str]:
    """NUM_ACTIVE orchestrators with stakes 10, 20, ... (in tokens), in the pool."""
    orchs = accounts[:NUM_ACTIVE]
    for i, o in enumerate(orchs):
        proto.register(o, (i + 1) * 10 * E18)
    return orchs


def test_evicted_then_rejoining_in_the_same_round_stays_active(proto: Protocol, accounts: list[str]) -> None:
    orchs = fill_pool(proto, accounts)
    proto.next_round()
    smallest = orchs[0]
    newcomer = accounts[NUM_ACTIVE]
    proto.register(newcomer, 15 * E18)  # evicts `smallest` from the next round
    assert smallest not in proto.pool()
    assert proto.bonding.getTranscoder(smallest).deactivationRound == proto.round() + 1
    proto.bond(accounts[15], 10 * E18, smallest)  # 20 > 15: back in, evicting the newcomer
    assert smallest in proto.pool() and newcomer not in proto.pool()
    assert proto.bonding.isActiveTranscoder(smallest)  # it never stopped being active this round
    proto.next_round()
    assert proto.bonding.isActiveTranscoder(smallest) and not proto.bonding.isActiveTranscoder(newcomer)
    assert proto.bonding.currentRoundActiveSetSize() == NUM_ACTIVE


def test_an_equal_stake_does_not_evict(proto: Protocol, accounts: list[str]) -> None:
    orchs = fill_pool(proto, accounts)
    newcomer = accounts[NUM_ACTIVE]
    proto.bond(newcomer, 10 * E18, newcomer)  # equal to the smallest member
    assert newcomer not in proto.pool() and orchs[0] in proto.pool()
    with boa.env.prank(newcomer):
        proto.bonding.transcoder(0, 0)  # terms are set; the pool is full
    assert newcomer not in proto.pool()
    assert proto.bonding.isRegisteredTranscoder(newcomer)


def test_pool_size_can_grow_not_shrink_below_members(proto: Protocol, accounts: list[str]) -> None:
    fill_pool(proto, accounts)
    with boa.env.prank(proto.governor), boa.reverts("cannot be smaller than the current pool size"):
        proto.bonding.setNumActiveTranscoders(NUM_ACTIVE - 1)
    with boa.env.prank(proto.governor):
        proto.bonding.setNumActiveTranscoders(NUM_ACTIVE + 1)
    newcomer = accounts[NUM_ACTIVE]
    proto.register(newcomer, 1 * E18)  # room for one more, however small
    assert proto.pool()[-1] == newcomer
    assert proto.bonding.getTranscoderPoolSize() == NUM_ACTIVE + 1


def test_reward_with_hint_moves_in_the_pool(proto: Protocol, accounts: list[str]) -> None:
    a, b = accounts[0], accounts[1]
    proto.register(a, 100 * E18)
    proto.register(b, 100 * E18 + 1)
    proto.next_round()
    assert proto.pool() == [b, a]
    with boa.env.prank(a):
        proto.bonding.rewardWithHint(ZERO, b)  # its reward lifts it above b
    assert proto.pool() == [a, b]
    with boa.env.prank(b):
        proto.bonding.reward()  # no hint: found from its old position
    stakes = [proto.bonding.transcoderTotalStake(x) for x in proto.pool()]
    assert stakes == sorted(stakes, reverse=True)


def test_slashing_takes_only_the_orchestrators_own_stake(proto: Protocol, accounts: list[str]) -> None:
    o, d = accounts[0], accounts[1]
    proto.register(o, 100 * E18)
    proto.bond(d, 300 * E18, o)
    proto.next_round()
    with boa.env.prank(proto.governor):
        proto.bonding.slashTranscoder(o, ZERO, 500_000, 0)  # no finder: all burnt
        log = next(x for x in proto.bonding.get_logs() if type(x).__name__ == "TranscoderSlashed")
    assert (log.penalty, log.finderReward) == (50 * E18, 0)
    assert proto.bonding.pendingStake(o, 0) == 50 * E18
    assert proto.bonding.pendingStake(d, 0) == 300 * E18
    assert proto.bonding.transcoderTotalStake(o) == 350 * E18
    # once out of the active set, it may come back into the pool by setting its terms again
    proto.next_round()
    assert not proto.bonding.isActiveTranscoder(o)
    with boa.env.prank(o):
        proto.bonding.transcoder(0, 0)
    assert o in proto.pool()


def test_invalid_slash_parameters(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(proto.governor), boa.reverts("invalid slashAmount percentage"):
        proto.bonding.slashTranscoder(accounts[0], ZERO, 1_000_001, 0)
    with boa.env.prank(proto.governor), boa.reverts("invalid finderFee percentage"):
        proto.bonding.slashTranscoder(accounts[0], ZERO, 0, 1_000_001)


def test_withdraw_fees_checks(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(accounts[0]), boa.reverts("recipient is the zero address"):
        proto.bonding.withdrawFees(ZERO, 0)
    with boa.env.prank(accounts[0]), boa.reverts("insufficient fees to withdraw"):
        proto.bonding.withdrawFees(accounts[0], 1)


def test_ticket_broker_governor_setters(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the governor"):
        proto.broker.setUnlockPeriod(5)
    with boa.env.prank(proto.governor):
        proto.broker.setUnlockPeriod(5)
        first = proto.broker.get_logs()[0]
        proto.broker.setTicketValidityPeriod(3)
        second = proto.broker.get_logs()[0]
        with boa.reverts("unlock period cannot be 0"):
            proto.broker.setUnlockPeriod(0)
    assert (first.param, first.value, second.param, second.value) == ("unlockPeriod", 5, "ticketValidityPeriod", 3)
    assert (proto.broker.unlockPeriod(), proto.broker.ticketValidityPeriod()) == (5, 3)


def test_contract_setters_are_governed(proto: Protocol, accounts: list[str]) -> None:
    for contract, fn in (
        (proto.bonding, "setMinter"),
        (proto.bonding, "setTicketBroker"),
        (proto.rounds, "setBondingManager"),
        (proto.rounds, "setMinter"),
    ):
        with boa.env.prank(accounts[0]), boa.reverts("caller must be the governor"):
            getattr(contract, fn)(accounts[0])


def test_bond_to_zero_address_refused(proto: Protocol, accounts: list[str]) -> None:
    proto.fund(accounts[0], E18)
    with boa.env.prank(accounts[0]), boa.reverts("delegate is the zero address"):
        proto.bonding.bond(E18, ZERO)


def test_views_of_a_delegator(proto: Protocol, accounts: list[str]) -> None:
    o, d = accounts[0], accounts[1]
    proto.register(o, 10 * E18)
    proto.bond(d, 4 * E18, o)
    r = proto.round()
    assert proto.delegator(d) == (4 * E18, 0, o, 0, r + 1, r, 0)
    assert proto.delegator(o)[3] == 14 * E18
    assert proto.bonding.transcoderStatus(o) == 1 and proto.bonding.transcoderStatus(d) == 0
    assert proto.bonding.getFirstTranscoderInPool() == o == proto.bonding.getLastTranscoderInPool()
    assert proto.bonding.getTranscoderPoolMaxSize() == NUM_ACTIVE


def test_governance_can_be_handed_over(proto: Protocol, accounts: list[str]) -> None:
    new = accounts[9]
    for contract in (proto.rounds, proto.bonding, proto.minter, proto.broker):
        with boa.env.prank(accounts[0]), boa.reverts("caller must be the governor"):
            contract.transferGovernor(new)
        with boa.env.prank(proto.governor):
            contract.transferGovernor(new)
            log = contract.get_logs()[0]
        assert (log.previous, log.governor) == (proto.governor, new)
        assert contract.governor() == new
    with boa.env.prank(proto.governor):
        proto.token.transferOwnership(new)
    assert proto.token.owner() == new
    with boa.env.prank(new):
        proto.bonding.setUnbondingPeriod(4)
    assert proto.bonding.unbondingPeriod() == 4
