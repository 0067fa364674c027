"""Getting paid: the orchestrator's payments, between its HTTP edge and `payments/`.

Off-chain (no chain configured) every job is free. On-chain, each job must come with
tickets (the `Framemesh-Payment` header) whose expected value, added to what the
gateway already has in credit here, covers the job's price; otherwise 402 with what
is missing. The price is reserved when the job is admitted, so no two jobs running at
once can count the same credit; it is settled (charged) when the work is delivered and
released (given back) when it is not.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from framemesh.net.api_errors import ApiError
from framemesh.payments.recipient import (
    RecipientTerms,
    TicketRecipient,
    rejection_summary,
)
from framemesh.payments.redeemer import Redeemer
from framemesh.payments.ticket_store import WinningTicketStore
from framemesh.wire.payment import PaymentWire, TicketParamsWire

log = logging.getLogger("framemesh.orchestrator")


def load_or_create_secret(path: Path) -> bytes:
    """The secret behind every recipient_rand: it must outlive restarts, since the
    winning tickets kept in the store are redeemed with values derived from it."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret.hex())
    return secret


@dataclass
class Reservation:
    """A job's price, taken from its sender's credit when the job was admitted; closed
    once, by `Billing.settle` or `Billing.release`."""

    sender: str
    amount: int
    open: bool = True

    def close(self) -> bool:
        """Close it; False when it was closed already."""
        was, self.open = self.open, False
        return was


class Billing:
    def __init__(self, protocol: Any, signer: Any, data_dir: Path, terms: RecipientTerms, price_per_pixel: int) -> None:
        self.protocol = protocol
        self.signer = signer
        self.price_per_pixel = price_per_pixel
        self.store = WinningTicketStore(data_dir / "winning-tickets.sqlite")
        self.recipient = TicketRecipient(
            protocol, signer.address, load_or_create_secret(data_dir / "ticket-secret"), self.store, terms
        )
        self.redeemer = Redeemer(protocol, self.store, signer)
        self.paid_jobs = 0
        self.fees_charged = 0  # wei, over every job settled
        self.rejected: Counter[str] = Counter()  # tickets refused, by reason

    @property
    def address(self) -> str:
        return str(self.signer.address)

    async def keep_fresh(self) -> None:
        """Read the chain facts tickets are checked against in the background, a little
        more often than they go stale, so a payment does not wait on the chain (on the
        embedded chain that was about 20 ms of each paid job)."""
        interval = 0.8 * self.recipient.refresh_seconds
        while True:
            try:
                await asyncio.to_thread(self.recipient.refresh)
            except Exception as exc:  # the chain may be down for a moment: payments read it themselves
                log.warning("refreshing chain facts for ticket checks: %s", exc)
            await asyncio.sleep(interval)

    async def params(self, sender: str) -> TicketParamsWire:
        params = await asyncio.to_thread(self.recipient.params_for, sender)
        return TicketParamsWire.of(params, self.price_per_pixel)

    async def take_payment(self, header: str | None, price: int) -> Reservation:
        """Credit the tickets in `header`, then reserve `price` from the sender's balance
        in one step; 402 when the balance does not cover it."""
        if not header:
            raise ApiError(402, "payment_required", f"this job costs {price} wei: send tickets in the Framemesh-Payment header",)
        try:
            payment = PaymentWire.from_header(header)
        except ValueError as exc:
            raise ApiError(400, "bad_payment", str(exc)) from exc
        params = payment.params
        result = await asyncio.to_thread(
            self.recipient.receive,
            payment.signed(),
            seed=bytes.fromhex(params.seed.removeprefix("0x")),
            expiration_block=params.expiration_block,
        )
        self.rejected.update(r.reason.value for r in result.rejected)
        if result.rejected:
            # Any bad ticket refuses the job, whatever the credit: a sender that forges,
            # replays or overreaches gets no work. (Its valid tickets stay credited.)
            code, words = rejection_summary(result.rejected)
            balance = self.recipient.balance(payment.sender)
            raise ApiError(402, code, words, extra={"price": str(price), "balance": _fraction(balance)})
        if not self.recipient.charge(payment.sender, price):
            balance = self.recipient.balance(payment.sender)
            raise ApiError(
                402,
                "insufficient_payment",
                f"the tickets do not cover the price: price {price} wei, balance {float(balance):.0f} wei",
                extra={"price": str(price), "balance": _fraction(balance)},
            )
        return Reservation(payment.sender, price)

    def settle(self, held: Reservation, price: int | None = None) -> int:
        """The work was delivered: keep `price` (at most what was reserved; all of it by
        default) and give the rest back. Returns what was charged."""
        charged = held.amount if price is None else price
        if not 0 <= charged <= held.amount:
            raise ValueError(f"a charge of {charged} wei is outside the {held.amount} wei reserved")
        if held.close():
            if held.amount > charged:
                self.recipient.give_back(held.sender, held.amount - charged)
            self.paid_jobs += 1
            self.fees_charged += charged
            return charged
        return 0

    def release(self, held: Reservation) -> None:
        """The work was not delivered: the whole reservation goes back to the sender."""
        if held.close():
            self.recipient.give_back(held.sender, held.amount)

    def credit_left(self, sender: str) -> str:
        """`sender`'s balance here, wei, as "n" or "n/d" (what a 402 body says too)."""
        return _fraction(self.recipient.balance(sender))

    def stats(self) -> dict[str, object]:
        return {
            "tickets_received": self.recipient.tickets_received,
            "tickets_won": self.recipient.tickets_won,
            "tickets": self.store.counts(),
            "redeemed_wei": str(self.redeemer.total.face_value),
            "paid_jobs": self.paid_jobs,
        }

    def close(self) -> None:
        self.store.close()


def _fraction(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}" if value.denominator != 1 else str(value.numerator)
