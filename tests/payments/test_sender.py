from fractions import Fraction

from framemesh.chain.keys import Signer
from framemesh.payments.params import make_params
from framemesh.payments.sender import TicketSender
from framemesh.payments.signatures import recover
from framemesh.payments.ticket import win_prob_for

GATEWAY = Signer.from_key(b"\x07" * 32)
ORCH = "0x" + "33" * 20


def params(face: int = 10_000, prob: Fraction = Fraction(1, 10)):  # type: ignore[no-untyped-def]
    return make_params(
        b"k" * 32, recipient=ORCH, sender=GATEWAY.address, seed=b"s" * 32, face_value=face,
        win_prob=win_prob_for(prob), expiration_block=100, creation_round=3, creation_round_block_hash=b"\x01" * 32,
    )


def test_payment_covers_the_price_with_fresh_nonces() -> None:
    sender = TicketSender(GATEWAY)
    p = params()
    pay = sender.pay(p, 2500)  # EV per ticket ~1000 -> 3 tickets
    assert len(pay.tickets) == 3
    assert pay.expected_value >= 2500
    assert [t.ticket.sender_nonce for t in pay.tickets] == [1, 2, 3]
    for t in pay.tickets:
        assert recover(t.ticket.hash(), t.signature) == GATEWAY.address
    # the leftover credit (~500) pays part of the next job
    nxt = sender.pay(p, 1000)
    assert len(nxt.tickets) == 1 and nxt.tickets[0].ticket.sender_nonce == 4


def test_no_tickets_when_credit_covers_it() -> None:
    sender = TicketSender(GATEWAY)
    p = params()
    sender.pay(p, 100)  # one ticket of EV ~1000
    assert sender.pay(p, 500).tickets == ()


def test_total_expected_value_tracks_total_price() -> None:
    sender = TicketSender(GATEWAY)
    p = params(face=7_777, prob=Fraction(1, 7))
    prices = [313, 2_000, 1, 999, 12_345] * 20
    sent = sum((sender.pay(p, price).expected_value for price in prices), Fraction(0))
    assert sum(prices) <= sent < sum(prices) + p.face_value  # never short, never more than one ticket over


def test_refund_restores_the_mirror() -> None:
    sender = TicketSender(GATEWAY)
    p = params()
    sender.pay(p, 1000)
    before = sender.balances.get(ORCH)
    sender.refund(ORCH, 1000)
    assert sender.balances.get(ORCH) == before + 1000
