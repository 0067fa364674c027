"""Ticket parameters: what an orchestrator tells a gateway to pay it with. No I/O.

The orchestrator never stores per-gateway state to check a ticket: its
`recipient_rand` is an HMAC of a secret only it knows over everything the
parameters fix (seed, sender, face value, win probability, expiry), so a ticket
whose parameters were altered by the sender carries a `recipient_rand_hash` the
orchestrator can't reproduce, and is refused. (Livepeer's recipient does the same.)
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from eth_utils import to_canonical_address, to_checksum_address

from framemesh.payments.ticket import Ticket, recipient_rand_hash


@dataclass(frozen=True)
class TicketParams:
    recipient: str
    face_value: int
    win_prob: int
    recipient_rand_hash: bytes
    seed: bytes
    expiration_block: int
    creation_round: int
    creation_round_block_hash: bytes

    def ticket(self, sender: str, sender_nonce: int) -> Ticket:
        return Ticket(
            recipient=self.recipient,
            sender=sender,
            face_value=self.face_value,
            win_prob=self.win_prob,
            sender_nonce=sender_nonce,
            recipient_rand_hash=self.recipient_rand_hash,
            creation_round=self.creation_round,
            creation_round_block_hash=self.creation_round_block_hash,
        )


def derive_recipient_rand(
    secret: bytes,
    *,
    seed: bytes,
    sender: str,
    face_value: int,
    win_prob: int,
    expiration_block: int,
    creation_round: int,
) -> int:
    """The orchestrator's secret random number for one set of parameters."""
    message = b"".join(
        (
            seed,
            to_canonical_address(to_checksum_address(sender)),
            face_value.to_bytes(32, "big"),
            win_prob.to_bytes(32, "big"),
            expiration_block.to_bytes(32, "big"),
            creation_round.to_bytes(32, "big"),
        )
    )
    return int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest(), "big")


def make_params(
    secret: bytes,
    *,
    recipient: str,
    sender: str,
    seed: bytes,
    face_value: int,
    win_prob: int,
    expiration_block: int,
    creation_round: int,
    creation_round_block_hash: bytes,
) -> TicketParams:
    rand = derive_recipient_rand(
        secret,
        seed=seed,
        sender=sender,
        face_value=face_value,
        win_prob=win_prob,
        expiration_block=expiration_block,
        creation_round=creation_round,
    )
    return TicketParams(
        recipient=to_checksum_address(recipient),
        face_value=face_value,
        win_prob=win_prob,
        recipient_rand_hash=recipient_rand_hash(rand),
        seed=seed,
        expiration_block=expiration_block,
        creation_round=creation_round,
        creation_round_block_hash=creation_round_block_hash,
    )
