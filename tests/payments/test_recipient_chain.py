"""Tickets from a gateway to an orchestrator and on to the chain, on the embedded chain."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

from typing import Iterator

import pytest

from framemesh.chain.backend import Chain
from framemesh.payments.recipient import RecipientTerms, TicketRecipient, rejection_summary
from framemesh.payments.redeemer import Redeemer
from framemesh.payments.sender import TicketSender
from framemesh.payments.ticket_store import TicketState, WinningTicketStore
from framemesh.payments.validation import Reason
from tests.anvil_node import anvil_node
from tests.payments.conftest import ETH, World, make_world


def recipient(world: World, db: Path, face: int = ETH // 100, prob: Fraction = Fraction(1, 100)) -> TicketRecipient:
    return TicketRecipient(
        world.protocol, world.orchestrator.address, b"orchestrator-secret-000000000000", WinningTicketStore(db),
        RecipientTerms.for_probability(face, prob), refresh_seconds=60.0,
    )


@pytest.fixture(params=["embedded", "anvil"])
def backend(request: pytest.FixtureRequest) -> Iterator[Chain]:
    if request.param == "embedded":
        yield Chain.embedded()
        return
    for node in anvil_node():
        yield Chain.connect(node.url)


def test_expected_value_over_ten_thousand_tickets(tmp_path: Path, backend: Chain) -> None:
    world = make_world(round_length=1000, chain=backend)  # all tickets in one round
    face, prob, n = ETH // 1000, Fraction(1, 100), 10_000
    r = recipient(world, tmp_path / "w.sqlite", face, prob)
    sender = TicketSender(world.gateway)
    params = r.params_for(world.gateway.address)
    ev = Fraction(face) * prob
    price = int(ev)  # one ticket per job
    for _ in range(n // 50):
        payment = sender.pay(params, 50 * price)
        got = r.receive([(t.ticket, t.signature) for t in payment.tickets], seed=params.seed, expiration_block=params.expiration_block)
        assert not got.rejected and got.accepted == len(payment.tickets)
        assert r.charge(world.gateway.address, 50 * price)
    assert r.tickets_received >= n
    fees_before = world.protocol.pending_fees(world.orchestrator.address)
    redeemer = Redeemer(world.protocol, r.store, world.orchestrator)
    while r.store.pending():
        redeemer.redeem_pending()
    won = r.tickets_won
    redeemed = r.store.total_face_value(TicketState.REDEEMED)
    assert redeemed == won * face
    expected = r.tickets_received * float(ev)
    sigma = face * math.sqrt(r.tickets_received * float(prob) * (1 - float(prob)))
    assert abs(redeemed - expected) < 4 * sigma, (redeemed, expected, sigma)
    assert world.protocol.pending_fees(world.orchestrator.address) - fees_before == redeemed  # self-bonded: all its own


def test_winners_survive_a_crash_and_are_redeemed_once(world: World, tmp_path: Path) -> None:
    db = tmp_path / "w.sqlite"
    r = recipient(world, db, face=ETH // 10, prob=Fraction(1, 2))
    params = r.params_for(world.gateway.address)
    payment = TicketSender(world.gateway).pay(params, 2 * ETH)
    got = r.receive([(t.ticket, t.signature) for t in payment.tickets], seed=params.seed, expiration_block=params.expiration_block)
    assert got.winners > 0
    r.store.close()  # the orchestrator dies before redeeming anything

    reopened = WinningTicketStore(db)
    assert len(reopened.pending()) == got.winners
    deposit = world.protocol.sender_info(world.gateway.address).deposit
    first = Redeemer(world.protocol, reopened, world.orchestrator).redeem_pending()
    assert first.redeemed == got.winners and first.face_value == got.winners * ETH // 10
    second = Redeemer(world.protocol, reopened, world.orchestrator).redeem_pending()
    assert second.redeemed == 0 and reopened.pending() == []
    assert world.protocol.sender_info(world.gateway.address).deposit == deposit - got.winners * ETH // 10


def test_bad_payments_are_refused_with_reasons(world: World, tmp_path: Path) -> None:
    r = recipient(world, tmp_path / "w.sqlite")
    params = r.params_for(world.gateway.address)
    payment = TicketSender(world.gateway).pay(params, ETH // 100)
    signed = [(t.ticket, t.signature) for t in payment.tickets]
    assert r.receive(signed, seed=params.seed, expiration_block=params.expiration_block).accepted == len(signed)
    replay = r.receive(signed, seed=params.seed, expiration_block=params.expiration_block)
    assert replay.accepted == 0
    code, words = rejection_summary(replay.rejected)
    assert code == Reason.REPLAYED.value and "already used" in words
    # a restarted orchestrator refuses parameters it handed out before
    fresh = recipient(world, tmp_path / "w2.sqlite")
    stale = fresh.receive(signed, seed=params.seed, expiration_block=params.expiration_block)
    assert stale.rejected[0].reason is Reason.UNKNOWN_PARAMS


def test_unfunded_sender_is_refused(world: World, tmp_path: Path) -> None:
    from framemesh.chain.keys import Signer

    broke = Signer.from_key(b"\x43" * 32)
    r = recipient(world, tmp_path / "w.sqlite")
    params = r.params_for(broke.address)
    payment = TicketSender(broke).pay(params, ETH // 100)
    got = r.receive([(t.ticket, t.signature) for t in payment.tickets], seed=params.seed, expiration_block=params.expiration_block)
    assert got.accepted == 0 and got.rejected[0].reason is Reason.INSUFFICIENT_FUNDS
    assert not r.charge(broke.address, 1)


def test_refresh_reads_the_chain_facts_so_a_payment_does_not(tmp_path: Path) -> None:
    world = make_world(round_length=1000)
    r = TicketRecipient(
        world.protocol, world.orchestrator.address, b"orchestrator-secret-000000000000", WinningTicketStore(tmp_path / "w.sqlite"),
        RecipientTerms.for_probability(ETH // 100, Fraction(1, 100)), refresh_seconds=0.5,
    )
    gateway = world.gateway.address
    before = r.funds(gateway)  # a sender the recipient knows
    world.protocol.fund_deposit(world.gateway, ETH)  # more deposit, on the chain
    reads: list[str] = []
    for name in ("current_round", "sender_info"):
        original = getattr(world.protocol, name)
        setattr(world.protocol, name, lambda *a, _f=original, _n=name: reads.append(_n) or _f(*a))
    r.refresh()
    assert reads == ["current_round", "sender_info"], "the background refresh reads them"
    reads.clear()
    r.refresh(active_for=0.0)
    assert reads == [], "with no sender paying lately it reads nothing"
    reads.clear()
    assert r.funds(gateway).deposit == before.deposit + ETH, "and a payment finds them fresh"
    r.chain_view()
    assert reads == [], "without reading the chain itself"
def test_a_restarted_sender_starts_its_nonces_again_on_fresh_parameters_and_reuses_no_ticket(world: World, tmp_path: Path) -> None:
    """A gateway restarted with the same account has forgotten its nonces; it fetches
    parameters afresh, and each fetch has a new seed, so a new recipientRandHash: its
    tickets from nonce 1 again are other tickets, all accepted, none a replay."""
    r = recipient(world, tmp_path / "w.sqlite", face=ETH // 100, prob=Fraction(1, 10))
    me = world.gateway.address
    before, after = r.params_for(me), r.params_for(me)
    assert before.seed != after.seed and before.recipient_rand_hash != after.recipient_rand_hash
    hashes, sent = set(), Fraction(0)
    for params in (before, after):  # the first process, then the restarted one (nonces from 1)
        payment = TicketSender(world.gateway).pay(params, ETH // 100)
        assert [t.ticket.sender_nonce for t in payment.tickets][:1] == [1]
        got = r.receive([(t.ticket, t.signature) for t in payment.tickets], seed=params.seed, expiration_block=params.expiration_block)
        assert not got.rejected and got.accepted == len(payment.tickets)
        hashes |= {t.ticket.hash() for t in payment.tickets}
        sent += payment.expected_value
    assert len(hashes) == r.tickets_received, "no ticket twice"
    assert r.received_by_sender == {me: sent} and r.value_received == sent
