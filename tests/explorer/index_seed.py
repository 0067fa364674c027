"""A small network with a history, on the embedded chain, for the explorer's tests.

Two orchestrators (A: 1000 FMT, 10% cut, 50% fee share; B: 500 FMT, 20%, 25%), a
delegator D bonded to A, a gateway G with a deposit and a reserve, and five rounds:

    r1  A and B reward; G's winning ticket to A is redeemed
    r2  A rewards, B misses; A changes its cut to 5% / 60%; a ticket made in r1 is
        redeemed to A, one made in r2 to B; D claims its earnings
    r3  A and B reward; D bonds 50 more
    r4  A rewards, B misses; D unbonds 100
    r5  (running) A rewards; B has not yet

`seed()` returns the addresses and round numbers the tests assert on. It takes a few
seconds: build it once per module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from fractions import Fraction

from framemesh.chain.backend import Chain
from framemesh.chain.keys import Signer
from framemesh.chain.protocol_deployment import ProtocolParams
from framemesh.payments.params import derive_recipient_rand, make_params
from framemesh.payments.sender import TicketSender
from framemesh.payments.ticket import win_prob_for
from framemesh.protocol.network import Protocol

FMT = ETH = 10**18
ROUND_LENGTH = 20
SECRET = b"orchestrator-secret-000000000000"


@dataclass
class Seeded:
    chain: Chain
    protocol: Protocol
    deployer: Signer
    a: Signer
    b: Signer
    d: Signer
    g: Signer
    rounds: dict[str, int] = field(default_factory=dict)  # "r1".."r5" -> round number
    tickets: list[tuple[str, int, int, int]] = field(default_factory=list)  # (recipient, face, made in, redeemed in)
    end_block: int = 0  # the last block of the seeded history

    def redeem_ticket(self, to: Signer, face: int, creation_round: int) -> None:
        """A ticket from G that always wins, made in `creation_round`, redeemed now by `to`."""
        proto = self.protocol
        common = dict(
            sender=self.g.address, face_value=face, win_prob=win_prob_for(Fraction(1)),
            expiration_block=self.chain.block_number + 1000, creation_round=creation_round,
        )
        seed = creation_round.to_bytes(32, "big")
        params = make_params(
            SECRET, recipient=to.address, seed=seed, creation_round_block_hash=proto.block_hash_for_round(creation_round),
            **common,  # type: ignore[arg-type]
        )
        rand = derive_recipient_rand(SECRET, seed=seed, **common)  # type: ignore[arg-type]
        (signed,) = TicketSender(self.g).pay(params, face).tickets
        proto.redeem_winning_ticket(to, signed.ticket, signed.signature, rand)
        self.tickets.append((to.address, face, creation_round, proto.current_round()))


def seed(chain: Chain | None = None) -> Seeded:
    chain = chain or Chain.embedded()
    deployer = chain.accounts[0]
    proto = Protocol.deploy(chain, ProtocolParams(round_length=ROUND_LENGTH, unbonding_period=2), sender=deployer)
    a, b, d, g = (Signer.from_key(bytes([0x51 + i]) * 32) for i in range(4))
    for who in (a, b, d, g):
        chain.send_eth(who.address, 100 * ETH, deployer)
    for who, amount in ((a, 1000), (b, 500), (d, 400)):
        proto.transfer_tokens(deployer, who.address, amount * FMT)
    s = Seeded(chain, proto, deployer, a, b, d, g)
    proto.advance_rounds(deployer)
    s.rounds["r0"] = proto.current_round()
    proto.become_orchestrator(a, stake=1000 * FMT, reward_cut=100_000, fee_share=500_000, service_uri="http://a.example")
    proto.become_orchestrator(b, stake=500 * FMT, reward_cut=200_000, fee_share=250_000, service_uri="http://b.example")
    proto.bond(d, 300 * FMT, a.address)
    proto.fund_deposit_and_reserve(g, 10 * ETH, 1 * ETH)

    s.rounds["r1"] = proto.advance_rounds(deployer)
    proto.reward(a)
    proto.reward(b)
    s.redeem_ticket(a, ETH // 10, s.rounds["r1"])

    s.rounds["r2"] = proto.advance_rounds(deployer)
    proto.reward(a)
    proto.register(a, 50_000, 600_000)  # a cut change, allowed after its reward of the round
    s.redeem_ticket(a, ETH // 5, s.rounds["r1"])
    s.redeem_ticket(b, ETH // 20, s.rounds["r2"])
    proto.claim_earnings(d)

    s.rounds["r3"] = proto.advance_rounds(deployer)
    proto.reward(a)
    proto.reward(b)
    proto.bond(d, 50 * FMT, a.address)

    s.rounds["r4"] = proto.advance_rounds(deployer)
    proto.reward(a)
    proto.unbond(d, 100 * FMT)

    s.rounds["r5"] = proto.advance_rounds(deployer)
    proto.reward(a)
    s.end_block = chain.block_number
    return s


@lru_cache(maxsize=1)
def shared() -> Seeded:
    """One seeded network for every test module of the run. Tests that move the chain
    on do it inside `scratch()`, which puts it back."""
    return seed()


@contextmanager
def scratch(s: Seeded) -> Iterator[None]:
    """Changes to the chain inside are undone after (an embedded snapshot)."""
    snap = s.chain.snapshot()
    try:
        yield
    finally:
        s.chain.revert(snap)
