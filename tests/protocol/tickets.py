"""Livepeer-style tickets signed in Python with eth-account, for the contract tests."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi.packed import encode_packed
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

#: secp256k1 group order
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@dataclass(frozen=True)
class Ticket:
    recipient: str
    sender: str
    face_value: int
    win_prob: int
    sender_nonce: int
    recipient_rand_hash: bytes
    aux_data: bytes

    def as_tuple(self) -> tuple:
        return (self.recipient, self.sender, self.face_value, self.win_prob, self.sender_nonce, self.recipient_rand_hash, self.aux_data)

    def hash(self) -> bytes:
        return keccak(
            encode_packed(
                ["address", "address", "uint256", "uint256", "uint256", "bytes32", "bytes"],
                [self.recipient, self.sender, self.face_value, self.win_prob, self.sender_nonce, self.recipient_rand_hash, self.aux_data],
            )
        )


def aux_data(creation_round: int, block_hash: bytes) -> bytes:
    return creation_round.to_bytes(32, "big") + block_hash


def rand_hash(recipient_rand: int) -> bytes:
    return keccak(recipient_rand.to_bytes(32, "big"))


def sign(key: bytes, ticket: Ticket) -> bytes:
    signed = Account.sign_message(encode_defunct(primitive=ticket.hash()), private_key=key)
    return bytes(signed.signature)


def high_s(sig: bytes) -> bytes:
    """The malleable twin of a signature: same signer, s' = n - s, v flipped."""
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    return r + (N - s).to_bytes(32, "big") + bytes([55 - v])


def wins(sig: bytes, recipient_rand: int, win_prob: int) -> bool:
    return int.from_bytes(keccak(sig + recipient_rand.to_bytes(32, "big")), "big") < win_prob
