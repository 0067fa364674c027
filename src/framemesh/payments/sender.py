"""The gateway's side: turning a price into signed tickets.

Per orchestrator the gateway keeps its current ticket parameters, the next sender
nonce for them, and a balance mirroring the orchestrator's view of it (expected
value sent minus prices paid), so it sends just enough tickets for each job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

from framemesh.payments.balance import Balances
from framemesh.payments.params import TicketParams
from framemesh.payments.ticket import Ticket, expected_value, tickets_needed


class DigestSigner(Protocol):
    address: str

    def sign_digest(self, digest: bytes) -> bytes: ...


@dataclass(frozen=True)
class SignedTicket:
    ticket: Ticket
    signature: bytes
    seed: bytes
    expiration_block: int


@dataclass(frozen=True)
class Payment:
    """The tickets that pay for one job, and the price they pay."""

    recipient: str
    price: int
    tickets: tuple[SignedTicket, ...]

    @property
    def expected_value(self) -> Fraction:
        return sum((t.ticket.expected_value for t in self.tickets), Fraction(0))


@dataclass
class TicketSender:
    signer: DigestSigner
    balances: Balances = field(default_factory=Balances)
    _nonces: dict[bytes, int] = field(default_factory=dict)
    # Tickets one payment carries at most when paying ahead (the wire's bound, 100: a
    # recipient refuses more); the price itself is always covered.
    max_tickets: int = 100

    def pay(self, params: TicketParams, price: int, ahead: int = 0) -> Payment:
        """Sign enough tickets on `params` for the balance to cover `price`, then debit it.
        With `ahead`, a balance that falls short is topped up by that much more, so the
        next payments can wait (time-metered work pays for a stretch at a time)."""
        shortfall = self.balances.shortfall(params.recipient, price)
        count = 0
        if shortfall > 0:
            count = tickets_needed(_ceil(shortfall), params.face_value, params.win_prob)
            if ahead > 0:  # as much ahead as one payment may carry, never less than the price
                more = tickets_needed(_ceil(shortfall + ahead), params.face_value, params.win_prob)
                count = max(count, min(more, self.max_tickets))
        tickets = []
        for _ in range(count):
            nonce = self._nonces.get(params.recipient_rand_hash, 0) + 1
            self._nonces[params.recipient_rand_hash] = nonce
            ticket = params.ticket(self.signer.address, nonce)
            tickets.append(SignedTicket(ticket, self.signer.sign_digest(ticket.hash()), params.seed, params.expiration_block))
            self.balances.credit(params.recipient, expected_value(params.face_value, params.win_prob))
        if not self.balances.debit(params.recipient, price):
            raise AssertionError("tickets_needed() fell short")  # a bug, not an input error
        return Payment(params.recipient, price, tuple(tickets))

    def void(self, payment: Payment) -> None:
        """Undo `pay` for a payment its recipient never read: the price back, the tickets'
        credit out (their nonces stay used: a signed ticket is never signed again)."""
        self.balances.credit(payment.recipient, payment.price)
        left = self.balances.get(payment.recipient) - payment.expected_value
        self.balances.set(payment.recipient, max(Fraction(0), left))  # a resync may have come between

    def refund(self, recipient: str, price: int) -> None:
        """The job failed: the orchestrator credited the tickets but debits a price only
        for work it delivers, so the gateway's mirror takes the price back too."""
        self.balances.credit(recipient, price)


def _ceil(x: Fraction) -> int:
    return -(-x.numerator // x.denominator)
