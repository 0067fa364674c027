"""The orchestrator's winning tickets, in SQLite: a winning ticket is money.

A ticket is written (and the write synced) before the answer to the job that
brought it leaves the node, so a crash loses nothing. It stays `pending` until the
chain says it was redeemed; tickets closest to expiry are redeemed first.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from framemesh.durable import open_durable, transaction
from framemesh.payments.ticket import Ticket

_SCHEMA = """
CREATE TABLE IF NOT EXISTS winning_tickets (
    hash BLOB PRIMARY KEY,
    recipient TEXT NOT NULL,
    sender TEXT NOT NULL,
    face_value TEXT NOT NULL,
    win_prob TEXT NOT NULL,
    sender_nonce TEXT NOT NULL,
    recipient_rand_hash BLOB NOT NULL,
    creation_round INTEGER NOT NULL,
    creation_round_block_hash BLOB NOT NULL,
    signature BLOB NOT NULL,
    recipient_rand TEXT NOT NULL,
    state TEXT NOT NULL,
    received REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    tx_hash TEXT
);
CREATE INDEX IF NOT EXISTS winning_by_state ON winning_tickets (state, creation_round);
"""


class TicketState(str, Enum):
    PENDING = "pending"
    REDEEMED = "redeemed"
    EXPIRED = "expired"  # not redeemed in time: lost, kept for the record


@dataclass(frozen=True)
class StoredTicket:
    ticket: Ticket
    signature: bytes
    recipient_rand: int
    state: TicketState
    attempts: int
    last_error: str | None
    tx_hash: str | None


class WinningTicketStore:
    def __init__(self, path: Path) -> None:
        self._db = open_durable(path, _SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, ticket: Ticket, signature: bytes, recipient_rand: int) -> bool:
        """Keep a winning ticket; False if it was already kept (never twice)."""
        return self.add_many([(ticket, signature, recipient_rand)])[0]

    def add_many(self, winners: list[tuple[Ticket, bytes, int]]) -> list[bool]:
        """Keep winning tickets in one transaction (one disk sync for a payment's wins);
        for each, False if it was already kept."""
        added = []
        with self._lock, transaction(self._db):
            for ticket, signature, recipient_rand in winners:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO winning_tickets VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,0,NULL,NULL)",
                    (
                        ticket.hash(), ticket.recipient, ticket.sender, str(ticket.face_value), str(ticket.win_prob),
                        str(ticket.sender_nonce), ticket.recipient_rand_hash, ticket.creation_round,
                        ticket.creation_round_block_hash, signature, str(recipient_rand),
                        TicketState.PENDING.value, time.time(),
                    ),
                )
                added.append(cur.rowcount == 1)
        return added

    def pending(self, limit: int = 100) -> list[StoredTicket]:
        """Unredeemed tickets, those closest to expiry first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM winning_tickets WHERE state = ? ORDER BY creation_round, received LIMIT ?",
                (TicketState.PENDING.value, limit),
            ).fetchall()
        return [_row(r) for r in rows]

    def mark(self, ticket_hash: bytes, state: TicketState, *, tx_hash: str | None = None, error: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE winning_tickets SET state = ?, tx_hash = COALESCE(?, tx_hash), last_error = COALESCE(?, last_error)"
                " WHERE hash = ?",
                (state.value, tx_hash, error, ticket_hash),
            )

    def failed_attempt(self, ticket_hash: bytes, error: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE winning_tickets SET attempts = attempts + 1, last_error = ? WHERE hash = ?", (error, ticket_hash)
            )

    def pending_face_value(self, sender: str) -> int:
        with self._lock:
            rows = self._db.execute(
                "SELECT face_value FROM winning_tickets WHERE sender = ? AND state = ?", (sender, TicketState.PENDING.value)
            ).fetchall()
        return sum(int(r[0]) for r in rows)

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM winning_tickets GROUP BY state").fetchall()
        return {state.value: 0 for state in TicketState} | {r[0]: int(r[1]) for r in rows}

    def total_face_value(self, state: TicketState) -> int:
        with self._lock:
            rows = self._db.execute("SELECT face_value FROM winning_tickets WHERE state = ?", (state.value,)).fetchall()
        return sum(int(r[0]) for r in rows)


def _row(r: tuple) -> StoredTicket:  # type: ignore[type-arg]
    ticket = Ticket(
        recipient=r[1], sender=r[2], face_value=int(r[3]), win_prob=int(r[4]), sender_nonce=int(r[5]),
        recipient_rand_hash=bytes(r[6]), creation_round=int(r[7]), creation_round_block_hash=bytes(r[8]),
    )
    return StoredTicket(
        ticket=ticket, signature=bytes(r[9]), recipient_rand=int(r[10]), state=TicketState(r[11]),
        attempts=int(r[13]), last_error=r[14], tx_hash=r[15],
    )
