"""Recovering who signed a ticket.

Tickets are signed (by `framemesh.chain.keys.Signer.sign_digest`, the one place that
signs) as Ethereum personal messages over their 32-byte hash, what the contract's
`ecrecover` checks. A valid signature is 65 bytes, `r ++ s ++ v` with `v` in {27, 28}
and a low `s`; anything else is refused here before the contract would refuse it.
Recovery uses libsecp256k1 through coincurve: orchestrators check every ticket.
"""

from __future__ import annotations

import coincurve
from eth_utils import keccak, to_checksum_address

PERSONAL_PREFIX = b"\x19Ethereum Signed Message:\n32"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class BadSignature(ValueError):
    """A signature that is malformed or can't be recovered."""


def personal_hash(digest: bytes) -> bytes:
    return keccak(PERSONAL_PREFIX + digest)


def address_of_public_key(public: coincurve.PublicKey) -> str:
    return to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:])


def recover(digest: bytes, signature: bytes) -> str:
    """The address that signed `digest` as a personal message; refuses high-s signatures."""
    if len(signature) != 65:
        raise BadSignature(f"a signature is 65 bytes, got {len(signature)}")
    v = signature[64]
    if v not in (27, 28):
        raise BadSignature(f"signature v must be 27 or 28, got {v}")
    s = int.from_bytes(signature[32:64], "big")
    if not 0 < s <= SECP256K1_N // 2:
        raise BadSignature("signature s is not in the lower half of the curve order")
    try:
        public = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([v - 27]), personal_hash(digest), hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception for unrecoverable input
        raise BadSignature(f"signature does not recover: {exc}") from exc
    return address_of_public_key(public)
