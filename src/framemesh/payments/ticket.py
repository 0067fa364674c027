"""The Livepeer ticket, its hash, its win rule and its expected value. No I/O.

A ticket is a lottery ticket for `face_value` wei that wins with probability
`win_prob / (2**256 - 1)`. The orchestrator commits to a secret `recipient_rand`
(publishing only its hash) before the gateway signs; the ticket wins when
`keccak256(sig ++ recipient_rand) < win_prob`, so neither side alone decides the
outcome. `aux_data` binds the ticket to a round (creation round and that round's
block hash), which is how tickets expire.

Hashing follows Solidity's `abi.encodePacked` with the field order of Livepeer's
`TicketBroker`, so the contract and this module compute the same hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from eth_utils import keccak, to_canonical_address, to_checksum_address

MAX_WIN_PROB = 2**256 - 1
SIGNATURE_LENGTH = 65
AUX_DATA_LENGTH = 64


def _uint256(value: int) -> bytes:
    if not 0 <= value <= MAX_WIN_PROB:
        raise ValueError(f"{value} does not fit in a uint256")
    return value.to_bytes(32, "big")


@dataclass(frozen=True)
class Ticket:
    recipient: str
    sender: str
    face_value: int
    win_prob: int
    sender_nonce: int
    recipient_rand_hash: bytes
    creation_round: int
    creation_round_block_hash: bytes

    def __post_init__(self) -> None:
        if len(self.recipient_rand_hash) != 32:
            raise ValueError("recipient_rand_hash must be 32 bytes")
        if len(self.creation_round_block_hash) != 32:
            raise ValueError("creation_round_block_hash must be 32 bytes")
        for name in ("face_value", "win_prob", "sender_nonce", "creation_round"):
            _uint256(getattr(self, name))
        object.__setattr__(self, "recipient", to_checksum_address(self.recipient))
        object.__setattr__(self, "sender", to_checksum_address(self.sender))

    @property
    def aux_data(self) -> bytes:
        return _uint256(self.creation_round) + self.creation_round_block_hash

    def packed(self) -> bytes:
        return (
            to_canonical_address(self.recipient)
            + to_canonical_address(self.sender)
            + _uint256(self.face_value)
            + _uint256(self.win_prob)
            + _uint256(self.sender_nonce)
            + self.recipient_rand_hash
            + self.aux_data
        )

    def hash(self) -> bytes:
        return keccak(self.packed())

    @property
    def expected_value(self) -> Fraction:
        return expected_value(self.face_value, self.win_prob)


def expected_value(face_value: int, win_prob: int) -> Fraction:
    """What a ticket is worth on average, in wei, exactly."""
    return Fraction(face_value * win_prob, MAX_WIN_PROB)


def recipient_rand_hash(recipient_rand: int) -> bytes:
    return keccak(_uint256(recipient_rand))


def is_winning(signature: bytes, recipient_rand: int, win_prob: int) -> bool:
    """The contract's rule: `uint256(keccak256(abi.encodePacked(sig, recipientRand))) < winProb`."""
    if len(signature) != SIGNATURE_LENGTH:
        raise ValueError(f"a signature is {SIGNATURE_LENGTH} bytes, got {len(signature)}")
    return int.from_bytes(keccak(signature + _uint256(recipient_rand)), "big") < win_prob


def win_prob_for(probability: Fraction | float) -> int:
    """The on-chain `win_prob` for a probability in (0, 1]."""
    p = Fraction(probability)
    if not 0 < p <= 1:
        raise ValueError(f"a win probability is in (0, 1], got {probability}")
    return int(p * MAX_WIN_PROB)


def tickets_needed(price: int, face_value: int, win_prob: int) -> int:
    """How many tickets pay `price` wei on average (rounded up, never zero for a non-zero price)."""
    if price <= 0:
        return 0
    ev = expected_value(face_value, win_prob)
    if ev <= 0:
        raise ValueError("tickets with zero expected value can't pay for anything")
    n = price / ev
    return int(n) + (0 if n.denominator == 1 else 1)
