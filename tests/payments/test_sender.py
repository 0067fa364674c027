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


def test_paying_ahead_buys_credit_for_later_and_only_when_short() -> None:
    sender = TicketSender(GATEWAY)
    p = params()  # a ticket is worth ~1000
    first = sender.pay(p, 500, ahead=4000)  # the price and 4000 ahead: ~5 tickets
    assert first.expected_value >= 4500 and len(first.tickets) == 5
    # the credit bought ahead pays the next segments: no tickets while it lasts
    later = [sender.pay(p, 500, ahead=4000) for _ in range(9)]
    assert [len(x.tickets) for x in later[:8]] == [0] * 8
    # then the one that would run it out tops it up again, by the price and what is ahead
    assert len(later[8].tickets) >= 4


def test_paying_ahead_never_needs_more_tickets_than_a_payment_carries() -> None:
    from framemesh.wire.payment import MAX_TICKETS_PER_PAYMENT

    sender = TicketSender(GATEWAY)
    assert sender.max_tickets == MAX_TICKETS_PER_PAYMENT
    p = params()  # ~1000 a ticket
    paid = sender.pay(p, 500, ahead=10**9)
    assert len(paid.tickets) == MAX_TICKETS_PER_PAYMENT


def test_a_payment_never_read_is_void_and_its_nonces_stay_used() -> None:
    """Busy before reading it: the mirror is as before the payment, and the next
    payment signs new tickets (never the same nonces again)."""
    sender = TicketSender(GATEWAY)
    p = params()
    sender.pay(p, 500)
    before = sender.balances.get(ORCH)
    unread = sender.pay(p, 2500)
    assert unread.tickets
    sender.void(unread)
    assert sender.balances.get(ORCH) == before
    again = sender.pay(p, 2500)
    assert {t.ticket.sender_nonce for t in again.tickets}.isdisjoint(t.ticket.sender_nonce for t in unread.tickets)
    assert len(again.tickets) == len(unread.tickets), "the same price needs the same tickets again"
