"""An orchestrator's checks on a ticket before it starts any work. No I/O.

Errors are split, h11-style, by who is at fault: every refusal is a `TicketRejected`
with a machine-readable `reason` (the 402 body's `code`) and words that say what to
do. The chain facts a check needs (current round and block, each round's block
hash, the sender's funds) come in as a frozen `ChainView`, read by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from eth_utils import to_checksum_address

from framemesh.payments.params import derive_recipient_rand
from framemesh.payments.signatures import BadSignature, recover
from framemesh.payments.ticket import Ticket, is_winning, recipient_rand_hash


class Reason(str, Enum):
    WRONG_RECIPIENT = "wrong_recipient"
    BAD_SIGNATURE = "bad_signature"
    WRONG_SENDER = "wrong_sender"
    UNKNOWN_PARAMS = "unknown_params"  # rand hash is not ours: altered or stale parameters
    EXPIRED = "expired"
    REPLAYED = "replayed"
    INSUFFICIENT_FUNDS = "insufficient_funds"


class TicketRejected(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SenderFunds:
    deposit: int
    reserve_allocation: int  # the share of the sender's reserve this orchestrator is guaranteed
    unlocking: bool = False

    @property
    def max_float(self) -> int:
        return self.deposit + self.reserve_allocation


@dataclass(frozen=True)
class ChainView:
    current_round: int
    current_block: int
    round_block_hashes: dict[int, bytes]  # round -> that round's block hash (as the RoundsManager records)


@dataclass(frozen=True)
class Accepted:
    ticket: Ticket
    signature: bytes
    recipient_rand: int
    wins: bool


@dataclass
class NonceRegistry:
    """Sender nonces seen per `recipient_rand_hash`, so a ticket is credited once."""

    max_per_params: int = 100_000
    _seen: dict[bytes, set[int]] = field(default_factory=dict)

    def claim(self, rand_hash: bytes, nonce: int) -> bool:
        seen = self._seen.setdefault(rand_hash, set())
        if nonce in seen or len(seen) >= self.max_per_params:
            return False
        seen.add(nonce)
        return True

    def forget_before(self, keep: set[bytes]) -> None:
        """Drop the nonces of parameters that can no longer be valid."""
        for key in list(self._seen):
            if key not in keep:
                del self._seen[key]


class TicketValidator:
    def __init__(self, recipient: str, secret: bytes, seed_prefix: bytes, nonces: NonceRegistry | None = None) -> None:
        self.recipient = to_checksum_address(recipient)
        self._secret = secret
        self.seed_prefix = seed_prefix
        self.nonces = nonces or NonceRegistry()

    def __repr__(self) -> str:
        return f"TicketValidator(recipient={self.recipient}, secret=<redacted>)"

    def validate(
        self,
        ticket: Ticket,
        signature: bytes,
        *,
        seed: bytes,
        expiration_block: int,
        chain: ChainView,
        funds: SenderFunds,
        pending_face_value: int = 0,
    ) -> Accepted:
        """Check one ticket; returns whether it wins, or raises `TicketRejected`."""
        if ticket.recipient != self.recipient:
            raise TicketRejected(Reason.WRONG_RECIPIENT, f"ticket pays {ticket.recipient}, not this orchestrator ({self.recipient})")
        try:
            signer = recover(ticket.hash(), signature)
        except BadSignature as exc:
            raise TicketRejected(Reason.BAD_SIGNATURE, str(exc)) from exc
        if signer != ticket.sender:
            raise TicketRejected(Reason.WRONG_SENDER, f"ticket says sender {ticket.sender} but was signed by {signer}")
        if not seed.startswith(self.seed_prefix):
            raise TicketRejected(Reason.UNKNOWN_PARAMS, "ticket parameters are from before this orchestrator restarted; fetch new ones")
        rand = derive_recipient_rand(
            self._secret,
            seed=seed,
            sender=ticket.sender,
            face_value=ticket.face_value,
            win_prob=ticket.win_prob,
            expiration_block=expiration_block,
            creation_round=ticket.creation_round,
        )
        if recipient_rand_hash(rand) != ticket.recipient_rand_hash:
            raise TicketRejected(Reason.UNKNOWN_PARAMS, "ticket parameters were not issued by this orchestrator for this sender; fetch new ones")
        if expiration_block < chain.current_block:
            raise TicketRejected(Reason.EXPIRED, f"ticket parameters expired at block {expiration_block} (now {chain.current_block}); fetch new ones")
        if ticket.creation_round not in (chain.current_round, chain.current_round - 1):
            raise TicketRejected(Reason.EXPIRED, f"ticket is from round {ticket.creation_round}, now {chain.current_round}")
        if chain.round_block_hashes.get(ticket.creation_round) != ticket.creation_round_block_hash:
            raise TicketRejected(Reason.EXPIRED, f"ticket's block hash is not round {ticket.creation_round}'s")
        if funds.unlocking:
            raise TicketRejected(Reason.INSUFFICIENT_FUNDS, f"sender {ticket.sender} is withdrawing its deposit")
        if ticket.face_value > funds.max_float - pending_face_value:
            raise TicketRejected(
                Reason.INSUFFICIENT_FUNDS,
                f"face value {ticket.face_value} exceeds the sender's max float "
                f"{max(0, funds.max_float - pending_face_value)} (deposit + reserve share - unredeemed wins)",
            )
        if not self.nonces.claim(ticket.recipient_rand_hash, ticket.sender_nonce):
            raise TicketRejected(Reason.REPLAYED, f"sender nonce {ticket.sender_nonce} was already used with these parameters")
        return Accepted(ticket, signature, rand, is_winning(signature, rand, ticket.win_prob))
