"""Fixtures for the protocol contract suite (titanoboa, in process).

The contracts are compiled once per session and deployed once per session; every test
runs inside `boa.env.anchor()`, so it starts from the same freshly wired deployment
and leaves nothing behind.  `Protocol` is the deployment plus the few moves every test
needs (advance a round, fund an account, register an orchestrator, bond).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boa
import pytest

CONTRACTS = Path(__file__).resolve().parents[2] / "src" / "framemesh" / "protocol" / "contracts"

ROUND_LENGTH = 10
ROUND_LOCK = 100_000  # the last 10% of a round (1 block) is locked
UNBONDING_PERIOD = 3
NUM_ACTIVE = 5
INFLATION = 137_000
INFLATION_CHANGE = 500
TARGET = 500_000_000
UNLOCK_PERIOD = 2
VALIDITY = 2
SUPPLY = 10_000_000 * 10**18
ZERO = "0x" + "00" * 20
PERC = 10**6
PRECISE = 10**27


@dataclass
class Protocol:
    """A wired deployment and helpers to drive it."""

    governor: str
    token: Any
    rounds: Any
    bonding: Any
    minter: Any
    broker: Any
    registry: Any
    params: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------ time
    def round(self) -> int:
        return int(self.rounds.currentRound())

    def next_round(self, initialize: bool = True) -> int:
        """Advance to the first block of the next round (and initialize it)."""
        start = self.rounds.currentRoundStartBlock()
        length = self.rounds.roundLength()
        boa.env.time_travel(blocks=start + length - boa.env.evm.patch.block_number)
        if initialize:
            self.rounds.initializeRound()
        return self.round()

    def to_unlocked_block(self) -> None:
        """Nothing to do at a round's first block: it is unlocked by construction."""

    # ------------------------------------------------------------ tokens and stake
    def fund(self, who: str, amount: int) -> None:
        with boa.env.prank(self.governor):
            self.token.transfer(who, amount)
        with boa.env.prank(who):
            self.token.approve(self.bonding.address, 2**256 - 1)

    def bond(self, who: str, amount: int, to: str, fund: bool = True) -> None:
        if fund and amount:
            self.fund(who, amount)
        with boa.env.prank(who):
            self.bonding.bond(amount, to)

    def register(self, who: str, stake: int, reward_cut: int = 100_000, fee_share: int = 500_000) -> None:
        """Self-bond and set terms (call at an unlocked block of an initialized round)."""
        self.bond(who, stake, who)
        with boa.env.prank(who):
            self.bonding.transcoder(reward_cut, fee_share)

    def reward(self, who: str) -> int:
        with boa.env.prank(who):
            self.bonding.reward()
        return int(self.bonding.getTranscoder(who)[0])

    def delegator(self, who: str) -> tuple[int, int, str, int, int, int, int]:
        return tuple(self.bonding.getDelegator(who))  # type: ignore[return-value]

    def pool(self) -> list[str]:
        out = []
        node = self.bonding.getFirstTranscoderInPool()
        while node != ZERO:
            out.append(node)
            node = self.bonding.getNextTranscoderInPool(node)
        return out

    def hints(self, who: str, new_stake: int) -> tuple[str, str]:
        """The (prev, next) neighbours `who` will have in the pool at `new_stake`: what a
        client computes off-chain to pass to the `...WithHint` functions."""
        prev = ZERO
        for node in self.pool():
            if node == who:
                continue
            if self.bonding.transcoderTotalStake(node) >= new_stake:
                prev = node
            else:
                return prev, node
        return prev, ZERO


def _deploy(governor: str, deployers: dict[str, Any], **overrides: int) -> Protocol:
    p = {
        "round_length": ROUND_LENGTH,
        "round_lock": ROUND_LOCK,
        "unbonding": UNBONDING_PERIOD,
        "num_active": NUM_ACTIVE,
        "inflation": INFLATION,
        "inflation_change": INFLATION_CHANGE,
        "target": TARGET,
        "unlock": UNLOCK_PERIOD,
        "validity": VALIDITY,
        "supply": SUPPLY,
    }
    p.update(overrides)
    with boa.env.prank(governor):
        token = deployers["Token"].deploy("framemesh Token", "FMT", 18, p["supply"])
        rounds = deployers["RoundsManager"].deploy(p["round_length"], p["round_lock"])
        bonding = deployers["BondingManager"].deploy(token.address, rounds.address, p["unbonding"], p["num_active"])
        minter = deployers["Minter"].deploy(token.address, bonding.address, rounds.address, p["inflation"], p["inflation_change"], p["target"])
        broker = deployers["TicketBroker"].deploy(bonding.address, rounds.address, p["unlock"], p["validity"])
        registry = deployers["ServiceRegistry"].deploy()
        token.setMinter(minter.address)
        rounds.setBondingManager(bonding.address)
        rounds.setMinter(minter.address)
        bonding.setMinter(minter.address)
        bonding.setTicketBroker(broker.address)
    proto = Protocol(governor, token, rounds, bonding, minter, broker, registry, p)
    proto.next_round()
    return proto


def load_deployers() -> dict[str, Any]:
    """The six contracts compiled, by name, ready to deploy (also used by benchmarks/gas.py)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: boa.load_partial(str(CONTRACTS / f"{name}.vy")) for name in ("Token", "RoundsManager", "BondingManager", "Minter", "TicketBroker", "ServiceRegistry")}


@pytest.fixture(scope="session")
def deployers() -> dict[str, Any]:
    return load_deployers()


@pytest.fixture(scope="session")
def governor() -> str:
    return boa.env.generate_address("governor")


@pytest.fixture(scope="session")
def _deployed(deployers: dict[str, Any], governor: str) -> Protocol:
    return _deploy(governor, deployers)


@pytest.fixture
def proto(_deployed: Protocol) -> Iterator[Protocol]:
    with boa.env.anchor():
        yield _deployed


@pytest.fixture
def accounts() -> list[str]:
    return [boa.env.generate_address(f"account{i}") for i in range(20)]
