"""The gateway pays: ticket parameters per orchestrator, kept fresh, and tickets per job.

Parameters are fetched from an orchestrator when first needed and again before
they expire (a margin of blocks ahead of their expiration block), or when the
orchestrator says they are stale, so no job fails on expired parameters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Awaitable, Callable, TypeVar

from framemesh.gateway.errors import PeerBusy, PeerFailed, PeerUnpaid

from framemesh.payments.params import TicketParams
from framemesh.payments.sender import Payment, TicketSender
from framemesh.wire.payment import PaymentWire, TicketParamsWire

log = logging.getLogger("framemesh.gateway")

FetchParams = Callable[[str, str], Awaitable[TicketParamsWire]]
T = TypeVar("T")
# Payments refused (402) and fixed per call before the orchestrator counts as failed.
PAY_TRIES = 3


@dataclass
class _Session:
    params: TicketParams
    price_per_pixel: int


class GatewayPayer:
    def __init__(self, protocol: Any, signer: Any, fetch: FetchParams, *, refresh_margin_blocks: int = 5) -> None:
        self.protocol = protocol
        self.signer = signer
        self.sender = TicketSender(signer)
        self._fetch = fetch
        self._sessions: dict[str, _Session] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.margin = refresh_margin_blocks
        self._block_seen: tuple[float, int] | None = None
        self.tickets_sent = 0
        self.face_value_sent = 0
        self.expected_value_sent = Fraction(0)
        self.tickets_unread = 0  # of those sent: refused unread (`unread`), credited nowhere
        self.expected_value_unread = Fraction(0)

    @property
    def address(self) -> str:
        return str(self.signer.address)

    async def _session(self, url: str) -> _Session:
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:
            session = self._sessions.get(url)
            if session is None or await self._block() + self.margin >= session.params.expiration_block:
                wire = await self._fetch(url, self.address)
                session = _Session(wire.params(), int(wire.price_per_pixel))
                self._sessions[url] = session
                log.debug("new ticket parameters from %s (expire at block %d)", url, session.params.expiration_block)
            return session

    async def _block(self) -> int:
        """The chain's block number, read at most once a second (not once per segment)."""
        now = time.monotonic()
        if self._block_seen is None or now - self._block_seen[0] >= 1.0:
            self._block_seen = (now, await asyncio.to_thread(lambda: self.protocol.block_number))
        return self._block_seen[1]

    def forget(self, url: str) -> None:
        """The orchestrator refused our parameters: fetch new ones next time."""
        self._sessions.pop(url, None)

    async def pay(self, url: str, price: int, ahead: int = 0) -> tuple[str, Payment]:
        """Tickets for `price` to `url`: the header that carries them, and the payment."""
        session = await self._session(url)
        params = session.params
        payment = self.sender.pay(params, price, ahead)
        self.tickets_sent += len(payment.tickets)
        self.face_value_sent += params.face_value * len(payment.tickets)
        self.expected_value_sent += payment.expected_value
        return PaymentWire.of(payment, params, self.address).header(), payment

    def unread(self, payment: Payment) -> None:
        """The orchestrator refused the call before it read the payment (busy: it takes a
        slot before it reads the payment, so gateways sharing it are told busy at no
        cost): the tickets reached no one. The mirror gets the price back and loses their
        credit, so it stays the orchestrator's figure with no 402 to re-align it. Their
        nonces are not used again; they count as sent and unread."""
        self.sender.void(payment)
        self.tickets_unread += len(payment.tickets)
        self.expected_value_unread += payment.expected_value

    def refund(self, url: str, price: int) -> None:
        """The job failed before the orchestrator charged for it."""
        session = self._sessions.get(url)
        if session is not None:
            self.sender.refund(session.params.recipient, price)

    def resync(self, url: str, balance: Fraction) -> None:
        """Take the orchestrator's word for our balance with it (after a lost answer)."""
        session = self._sessions.get(url)
        if session is not None:
            recipient = session.params.recipient
            self.sender.balances.set(recipient, balance)

    def ticket_terms(self) -> dict[str, tuple[int, int]]:
        """(face value, win prob) of the tickets each orchestrator's current parameters ask for."""
        return {url: (s.params.face_value, s.params.win_prob) for url, s in self._sessions.items()}

    def stats(self) -> dict[str, object]:
        return {
            "tickets_sent": self.tickets_sent,
            "face_value_sent": str(self.face_value_sent),
            "expected_value_sent": str(round(self.expected_value_sent)),
            "tickets_unread": self.tickets_unread,
            "expected_value_unread": str(round(self.expected_value_unread)),
        }


async def pay_and_call(
    payer: GatewayPayer | None, url: str, price: int, call: Callable[[str | None], Awaitable[T]], *,
    charged_on_bad_result: bool = True, ahead: int = 0,
) -> T:
    """Pay `price` to `url` (on a chain: `payer`) and `call(payment header or None)`.

    The one payment policy of every kind of work. A 402 for stale parameters or a
    balance out of step is fixed and paid again, up to PAY_TRIES times within this call
    (so one job's refusals never count against another's); past that, or for a 402 that
    says nothing to fix, the orchestrator failed (`PeerFailed`). Any other failure takes
    the payment back, except a bad result it charged for (`charged_on_bad_result`: it
    delivered, and charges on delivery). Off-chain (`payer` None) a 402 is a failure.
    `ahead`: wei of credit to buy beyond the price when tickets must be sent anyway.
    """
    for _ in range(PAY_TRIES):
        payment = paid = None
        if payer is not None:
            try:
                payment, paid = await payer.pay(url, price, ahead)
            except Exception as exc:
                raise PeerFailed(url, "unreachable", f"no ticket parameters: {exc}") from exc
        try:
            return await call(payment)
        except PeerUnpaid as exc:
            if payer is None:
                raise PeerFailed(url, "error", str(exc)) from exc
            payer.refund(url, price)
            if exc.code in ("unknown_params", "expired"):
                payer.forget(url)
            elif exc.balance is not None:
                payer.resync(url, Fraction(exc.balance))  # take its word for our credit
            else:
                raise PeerFailed(url, "error", str(exc)) from exc
        except Exception as exc:
            charged = charged_on_bad_result and isinstance(exc, PeerFailed) and exc.kind == "bad_result"
            if payer is not None and paid is not None and isinstance(exc, PeerBusy):
                payer.unread(paid)  # its price and its tickets' credit: neither reached it
            elif payer is not None and payment is not None and not charged:
                payer.refund(url, price)
            raise
    raise PeerFailed(url, "error", f"payment refused {PAY_TRIES} times")
