"""The orchestrator's side of payments: hand out ticket parameters, take tickets,
keep winners, keep each gateway's balance.

Chain facts are read through a `TicketChain` and cached for `refresh_seconds`
(tickets arrive much faster than blocks). Winning tickets are written to the
`WinningTicketStore` before `receive` returns, so the job's answer never leaves
before the money is safe.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction

from framemesh.payments.balance import Balances
from framemesh.payments.params import TicketParams, make_params
from framemesh.payments.ports import TicketChain
from framemesh.payments.ticket import Ticket, win_prob_for
from framemesh.payments.ticket_store import WinningTicketStore
from framemesh.payments.validation import (
    ChainView,
    NonceRegistry,
    Reason,
    SenderFunds,
    TicketRejected,
    TicketValidator,
)

log = logging.getLogger("framemesh.payments")


@dataclass(frozen=True)
class RecipientTerms:
    face_value: int
    win_prob: int

    @classmethod
    def for_probability(cls, face_value: int, probability: Fraction) -> "RecipientTerms":
        return cls(face_value, win_prob_for(probability))


@dataclass
class ReceiveResult:
    credited: Fraction = Fraction(0)
    accepted: int = 0
    winners: int = 0
    rejected: list[TicketRejected] = field(default_factory=list)


class TicketRecipient:
    def __init__(
        self,
        chain: TicketChain,
        address: str,
        secret: bytes,
        store: WinningTicketStore,
        terms: RecipientTerms,
        *,
        refresh_seconds: float = 1.0,
    ) -> None:
        self.chain = chain
        self.address = address
        self.store = store
        self.terms = terms
        self.balances = Balances()
        # A fresh prefix per start: parameters handed out before a restart are refused,
        # so nonces seen before the restart (kept in memory only) can't be replayed.
        self._validator = TicketValidator(address, secret, os.urandom(8), NonceRegistry())
        self._secret = secret
        self._refresh = refresh_seconds
        self._view: tuple[float, ChainView] | None = None
        self._funds: dict[str, tuple[float, SenderFunds]] = {}
        self._paid_at: dict[str, float] = {}  # sender → when its funds were last asked for
        self._lock = threading.RLock()
        self.tickets_received = 0
        self.tickets_won = 0
        self.value_received = Fraction(0)  # wei: the expected value of the tickets accepted
        # The same per sender: what each gateway account paid here (each says what it sent).
        self.received_by_sender: dict[str, Fraction] = {}
        self.value_won = 0  # wei: the face value of the winners kept

    def __repr__(self) -> str:
        return f"TicketRecipient({self.address}, secret=<redacted>)"

    @property
    def refresh_seconds(self) -> float:
        """How long the chain facts tickets are checked against are trusted."""
        return self._refresh

    # chain facts, cached

    def chain_view(self) -> ChainView:
        with self._lock:
            if self._view and time.monotonic() - self._view[0] < self._refresh:
                return self._view[1]
            view = self._read_view()
            self._view = (time.monotonic(), view)
            return view

    def funds(self, sender: str) -> SenderFunds:
        with self._lock:
            self._paid_at[sender] = time.monotonic()
            cached = self._funds.get(sender)
            if cached and time.monotonic() - cached[0] < self._refresh:
                return cached[1]
            funds = self._read_funds(sender)
            self._funds[sender] = (time.monotonic(), funds)
            return funds

    def refresh(self, active_for: float = 60.0) -> None:
        """Read the chain facts tickets are checked against (the round, its block hashes,
        the deposit and reserve of each sender that paid in the last `active_for`
        seconds) now, without holding up a payment: the orchestrator calls this in the
        background more often than the facts go stale, so a payment finds them fresh and
        reads nothing from the chain itself. With no recent payer it reads nothing."""
        now = time.monotonic()
        with self._lock:
            senders = [s for s, at in self._paid_at.items() if now - at < active_for]
        if not senders:
            return
        view = self._read_view()
        with self._lock:
            self._view = (time.monotonic(), view)
        for sender in senders:
            funds = self._read_funds(sender)
            with self._lock:
                self._funds[sender] = (time.monotonic(), funds)

    def _read_view(self) -> ChainView:
        current = self.chain.current_round()
        hashes = {r: self.chain.block_hash_for_round(r) for r in (current - 1, current) if r >= 0}
        return ChainView(current_round=current, current_block=self.chain.block_number, round_block_hashes=hashes)

    def _read_funds(self, sender: str) -> SenderFunds:
        info = self.chain.sender_info(sender)
        return SenderFunds(
            deposit=info.deposit,
            reserve_allocation=self.chain.claimable_reserve(sender, self.address),
            unlocking=info.withdraw_round != 0,
        )

    # parameters

    def params_for(self, sender: str) -> TicketParams:
        """Fresh parameters for `sender`, valid until the middle of the next round
        (tickets are redeemable in their creation round and the next; the rest of
        that round is the margin to redeem the last winners)."""
        view = self.chain_view()
        start = self.chain.current_round_start_block()
        length = self.chain.round_length()
        return make_params(
            self._secret,
            recipient=self.address,
            sender=sender,
            seed=self._validator.seed_prefix + os.urandom(24),
            face_value=self.terms.face_value,
            win_prob=self.terms.win_prob,
            expiration_block=start + length + length // 2,
            creation_round=view.current_round,
            creation_round_block_hash=view.round_block_hashes[view.current_round],
        )

    # tickets

    def receive(self, tickets: list[tuple[Ticket, bytes]], *, seed: bytes, expiration_block: int) -> ReceiveResult:
        """Check each ticket; credit the valid ones to their sender; keep the winners."""
        result = ReceiveResult()
        with self._lock:
            view = self.chain_view()
            # Unredeemed wins per sender, read once per payment and kept up to date here
            # (not one SQL sum per ticket: a payment can carry a hundred).
            pending: dict[str, int] = {}
            winners: list[tuple[Ticket, bytes, int]] = []
            credits: list[Ticket] = []
            for ticket, signature in tickets:
                if ticket.sender not in pending:
                    pending[ticket.sender] = self.store.pending_face_value(ticket.sender)
                try:
                    accepted = self._validator.validate(
                        ticket,
                        signature,
                        seed=seed,
                        expiration_block=expiration_block,
                        chain=view,
                        funds=self.funds(ticket.sender),
                        pending_face_value=pending[ticket.sender],
                    )
                except TicketRejected as exc:
                    result.rejected.append(exc)
                    continue
                if accepted.wins:
                    winners.append((ticket, signature, accepted.recipient_rand))
                    pending[ticket.sender] += ticket.face_value
                credits.append(ticket)
            # The wins are on disk (one sync for the payment) before any of it is credited.
            self.store.add_many(winners)
            result.winners = len(winners)
            self.tickets_won += len(winners)
            self.value_won += sum(ticket.face_value for ticket, _, _ in winners)
            for ticket in credits:
                self.tickets_received += 1
                result.accepted += 1
                result.credited += ticket.expected_value
                self.value_received += ticket.expected_value
                self.received_by_sender[ticket.sender] = self.received_by_sender.get(ticket.sender, Fraction(0)) + ticket.expected_value
                self.balances.credit(ticket.sender, ticket.expected_value)
        if result.winners:
            log.info("kept %d winning ticket(s)", result.winners)
        return result

    def charge(self, sender: str, price: int) -> bool:
        """Take `price` from `sender`'s credit if it covers it, at once (no other job can
        count the same credit); False, and nothing taken, if not."""
        with self._lock:
            return self.balances.debit(sender, price)

    def give_back(self, sender: str, amount: int) -> None:
        """Return credit taken for a job that was not delivered (or cost less)."""
        with self._lock:
            self.balances.credit(sender, amount)

    def balance(self, sender: str) -> Fraction:
        return self.balances.get(sender)


def rejection_summary(rejected: list[TicketRejected]) -> tuple[str, str]:
    """(code, words) for a 402 body: the first reason, and how many tickets had it."""
    first = rejected[0]
    same = sum(1 for r in rejected if r.reason is first.reason)
    suffix = f" ({same} tickets)" if same > 1 else ""
    return first.reason.value, f"{first}{suffix}"


__all__ = ["ReceiveResult", "RecipientTerms", "Reason", "TicketRecipient", "rejection_summary"]
