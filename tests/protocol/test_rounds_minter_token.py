"""RoundsManager, Minter and Token."""

from __future__ import annotations

import boa

from .conftest import (
    INFLATION,
    INFLATION_CHANGE,
    ROUND_LENGTH,
    SUPPLY,
    TARGET,
    Protocol,
)
from .maths import MINTER_PERC

E18 = 10**18


# ---------------------------------------------------------------- rounds

def test_round_numbers_and_initialization(proto: Protocol) -> None:
    r = proto.round()
    assert proto.rounds.currentRoundInitialized()
    assert proto.rounds.currentRoundStartBlock() == r * ROUND_LENGTH
    with boa.reverts("round already initialized"):
        proto.rounds.initializeRound()
    proto.next_round(initialize=False)
    assert proto.round() == r + 1 and not proto.rounds.currentRoundInitialized()
    assert proto.rounds.blockHashForRound(r + 1) == b"\x00" * 32
    proto.rounds.initializeRound()
    logs = proto.rounds.get_logs()
    assert any(type(x).__name__ == "NewRound" and x.round == r + 1 for x in logs)
    assert proto.rounds.blockHashForRound(r + 1) != b"\x00" * 32
    assert proto.rounds.lastInitializedRound() == r + 1


def test_lock_window_is_the_end_of_the_round(proto: Protocol) -> None:
    assert not proto.rounds.currentRoundLocked()
    boa.env.time_travel(blocks=ROUND_LENGTH - 2)
    assert not proto.rounds.currentRoundLocked()
    boa.env.time_travel(blocks=1)
    assert proto.rounds.currentRoundLocked()


def test_round_length_change_applies_from_next_initialized_round(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the governor"):
        proto.rounds.setRoundLength(5)
    with boa.env.prank(proto.governor):
        proto.rounds.setRoundLength(5)
        assert type(proto.rounds.get_logs()[0]).__name__ == "ParameterUpdate"
    assert proto.rounds.roundLength() == ROUND_LENGTH
    r = proto.next_round()
    assert proto.rounds.roundLength() == 5
    start = proto.rounds.currentRoundStartBlock()
    boa.env.time_travel(blocks=5)
    assert proto.round() == r + 1 and proto.rounds.currentRoundStartBlock() == start + 5


def test_only_rounds_manager_starts_a_round(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the RoundsManager"):
        proto.minter.setCurrentRewardTokens()
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the RoundsManager"):
        proto.bonding.setCurrentRoundTotalActiveStake()


# ---------------------------------------------------------------- minter

def test_mintable_is_supply_times_inflation(proto: Protocol) -> None:
    supply = proto.token.totalSupply()
    proto.next_round()
    # nothing bonded: the bonding rate is below target, so inflation went up one step
    assert proto.minter.currentMintableTokens() == supply * proto.minter.inflation() // MINTER_PERC


def test_inflation_steps_toward_target_and_stops_at_zero(proto: Protocol, accounts: list[str]) -> None:
    start = proto.minter.inflation()
    seen = []
    for _ in range(3):
        proto.next_round()
        seen.append(proto.minter.inflation())
    assert seen == [start + INFLATION_CHANGE * k for k in (1, 2, 3)]  # below target: up one step a round
    # bond 60% of the supply: above target, down one step a round
    o = accounts[0]
    proto.register(o, SUPPLY * 6 // 10)
    assert proto.minter.currentBondingRate() > TARGET
    before = proto.minter.inflation()
    proto.next_round()
    assert proto.minter.inflation() == before - INFLATION_CHANGE
    # a large step reaches zero and stays there
    with boa.env.prank(proto.governor):
        proto.minter.setInflationChange(10**9)
    proto.next_round()
    assert proto.minter.inflation() == 0
    proto.next_round()
    assert proto.minter.inflation() == 0 and proto.minter.currentMintableTokens() == 0


def test_inflation_holds_at_target(proto: Protocol) -> None:
    with boa.env.prank(proto.governor):
        proto.minter.setTargetBondingRate(0)
    before = proto.minter.inflation()
    proto.next_round()
    assert proto.minter.inflation() == before  # rate == target == 0: no step


def test_minter_governance(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the governor"):
        proto.minter.setTargetBondingRate(1)
    with boa.env.prank(proto.governor), boa.reverts("targetBondingRate must be a valid percentage"):
        proto.minter.setTargetBondingRate(10**9 + 1)
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the BondingManager"):
        proto.minter.createReward(1, 1)
    assert proto.minter.targetBondingRate() == TARGET
    assert proto.minter.inflationChange() == INFLATION_CHANGE
    assert proto.minter.inflation() >= INFLATION


# ---------------------------------------------------------------- token

def test_token_basics(proto: Protocol, accounts: list[str]) -> None:
    a, b = accounts[0], accounts[1]
    assert (proto.token.name(), proto.token.symbol(), proto.token.decimals()) == ("framemesh Token", "FMT", 18)
    assert proto.token.totalSupply() == SUPPLY
    proto.fund(a, 100)
    with boa.env.prank(a):
        proto.token.transfer(b, 40)
        with boa.reverts("insufficient balance"):
            proto.token.transfer(b, 61)
        proto.token.approve(b, 10)
    with boa.env.prank(b), boa.reverts("insufficient allowance"):
        proto.token.transferFrom(a, b, 11)
    with boa.env.prank(b):
        proto.token.transferFrom(a, b, 10)
    assert proto.token.balanceOf(b) == 50
    with boa.env.prank(a):
        proto.token.burn(50)
    assert proto.token.totalSupply() == SUPPLY - 50


def test_only_minter_mints(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the Minter"):
        proto.token.mint(accounts[0], 1)
    with boa.env.prank(proto.governor), boa.reverts("caller must be the Minter"):
        proto.token.mint(accounts[0], 1)
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the owner"):
        proto.token.setMinter(accounts[0])


def test_service_registry(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(accounts[0]):
        proto.registry.setServiceURI("https://o1.example:8935")
        log = proto.registry.get_logs()[0]
    assert (log.addr, log.serviceURI) == (accounts[0], "https://o1.example:8935")
    assert proto.registry.getServiceURI(accounts[0]) == "https://o1.example:8935"
    assert proto.registry.getServiceURI(accounts[1]) == ""
