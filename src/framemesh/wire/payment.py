"""Payments on the wire: ticket parameters an orchestrator hands out, and the tickets
a gateway sends with a job (in the `Framemesh-Payment` header, base64url JSON: the
shared parameters once, then a nonce and a signature per ticket, as Livepeer does)."""

from __future__ import annotations

import base64

from pydantic import BaseModel, Field, ValidationError, field_validator

from framemesh.payments.params import TicketParams
from framemesh.payments.sender import Payment
from framemesh.payments.ticket import Ticket

PAYMENT_HEADER = "framemesh-payment"
MAX_TICKETS_PER_PAYMENT = 100


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def _unhex(value: str, size: int | None = None) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x"))
    if size is not None and len(raw) != size:
        raise ValueError(f"expected {size} bytes, got {len(raw)}")
    return raw


class TicketParamsWire(BaseModel):
    recipient: str
    face_value: str = Field(description="Wei, as a decimal string (uint256 does not fit JSON numbers).")
    win_prob: str
    recipient_rand_hash: str
    seed: str
    expiration_block: int
    creation_round: int
    creation_round_block_hash: str
    price_per_pixel: str = "0"

    @classmethod
    def of(cls, p: TicketParams, price_per_pixel: int = 0) -> "TicketParamsWire":
        return cls(
            recipient=p.recipient, face_value=str(p.face_value), win_prob=str(p.win_prob),
            recipient_rand_hash=_hex(p.recipient_rand_hash), seed=_hex(p.seed), expiration_block=p.expiration_block,
            creation_round=p.creation_round, creation_round_block_hash=_hex(p.creation_round_block_hash),
            price_per_pixel=str(price_per_pixel),
        )

    def params(self) -> TicketParams:
        return TicketParams(
            recipient=self.recipient, face_value=int(self.face_value), win_prob=int(self.win_prob),
            recipient_rand_hash=_unhex(self.recipient_rand_hash, 32), seed=_unhex(self.seed),
            expiration_block=self.expiration_block, creation_round=self.creation_round,
            creation_round_block_hash=_unhex(self.creation_round_block_hash, 32),
        )


class TicketWire(BaseModel):
    nonce: int = Field(ge=0)
    sig: str

    @field_validator("sig")
    @classmethod
    def _sig(cls, v: str) -> str:
        _unhex(v, 65)
        return v


class PaymentWire(BaseModel):
    sender: str
    params: TicketParamsWire
    tickets: list[TicketWire] = Field(max_length=MAX_TICKETS_PER_PAYMENT)

    @classmethod
    def of(cls, payment: Payment, params: TicketParams, sender: str) -> "PaymentWire":
        return cls(
            sender=sender,
            params=TicketParamsWire.of(params),
            tickets=[TicketWire(nonce=t.ticket.sender_nonce, sig=_hex(t.signature)) for t in payment.tickets],
        )

    def signed(self) -> list[tuple[Ticket, bytes]]:
        p = self.params.params()
        return [(p.ticket(self.sender, t.nonce), _unhex(t.sig, 65)) for t in self.tickets]

    def header(self) -> str:
        return base64.urlsafe_b64encode(self.model_dump_json().encode()).decode()

    @classmethod
    def from_header(cls, value: str) -> "PaymentWire":
        """Raises ValueError with what is wrong."""
        try:
            raw = base64.urlsafe_b64decode(value.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError(f"the {PAYMENT_HEADER} header is not base64url") from exc
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise ValueError(f"the {PAYMENT_HEADER} header is malformed: {exc.errors()[0]['msg']}") from exc
