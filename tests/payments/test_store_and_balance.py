from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from framemesh.payments.balance import Balances
from framemesh.payments.ticket import MAX_WIN_PROB, Ticket
from framemesh.payments.ticket_store import TicketState, WinningTicketStore

SENDER = "0x" + "22" * 20


def ticket(nonce: int, creation_round: int = 5, face: int = 1000) -> Ticket:
    return Ticket(
        recipient="0x" + "11" * 20, sender=SENDER, face_value=face, win_prob=MAX_WIN_PROB // 3,
        sender_nonce=nonce, recipient_rand_hash=b"\x01" * 32, creation_round=creation_round,
        creation_round_block_hash=b"\x02" * 32,
    )


def test_tickets_survive_reopening_and_expiring_ones_come_first(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    store = WinningTicketStore(db)
    assert store.add(ticket(1, creation_round=7), b"\x03" * 65, 99)
    assert store.add(ticket(2, creation_round=5), b"\x04" * 65, 98)
    assert not store.add(ticket(1, creation_round=7), b"\x03" * 65, 99), "kept once only"
    store.close()
    again = WinningTicketStore(db)
    pending = again.pending()
    assert [p.ticket.creation_round for p in pending] == [5, 7]
    assert pending[0].ticket == ticket(2, creation_round=5)
    assert pending[0].signature == b"\x04" * 65 and pending[0].recipient_rand == 98
    assert again.pending_face_value(SENDER) == 2000


def test_marking(tmp_path: Path) -> None:
    store = WinningTicketStore(tmp_path / "t.sqlite")
    t = ticket(1)
    store.add(t, b"\x03" * 65, 1)
    store.failed_attempt(t.hash(), "nonce too low")
    assert store.pending()[0].attempts == 1 and store.pending()[0].last_error == "nonce too low"
    store.mark(t.hash(), TicketState.REDEEMED, tx_hash="0xabc")
    assert store.pending() == []
    assert store.counts() == {"pending": 0, "redeemed": 1, "expired": 0}
    assert store.total_face_value(TicketState.REDEEMED) == 1000
    assert store.pending_face_value(SENDER) == 0


def test_balance_debit_only_when_covered() -> None:
    b = Balances()
    b.credit("g", Fraction(5, 2))
    assert not b.debit("g", 3) and b.get("g") == Fraction(5, 2)
    assert b.shortfall("g", 3) == Fraction(1, 2)
    assert b.debit("g", 2) and b.get("g") == Fraction(1, 2)
    with pytest.raises(ValueError):
        b.credit("g", -1)


@given(st.lists(st.tuples(st.booleans(), st.fractions(min_value=0, max_value=1000)), max_size=50))
def test_balance_never_negative(ops: list[tuple[bool, Fraction]]) -> None:
    b = Balances()
    for is_credit, amount in ops:
        b.credit("x", amount) if is_credit else b.debit("x", amount)
        assert b.get("x") >= 0
