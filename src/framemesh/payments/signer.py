"""The one place that signs and recovers ticket signatures.

Tickets are signed as Ethereum personal messages over their 32-byte hash (what the
contract's `ecrecover` checks), with libsecp256k1 through coincurve: about ten times
faster than going through eth-account for every ticket. Signatures are 65 bytes,
`r ++ s ++ v` with `v` in {27, 28} and a low `s`, as the contract demands.
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


class Signer:
    """Holds a private key and signs with it. The key is never printed."""

    def __init__(self, private_key: bytes) -> None:
        if len(private_key) != 32:
            raise ValueError("a private key is 32 bytes")
        self._key = coincurve.PrivateKey(private_key)
        self.address = address_of_public_key(self._key.public_key)

    def __repr__(self) -> str:
        return f"Signer(address={self.address}, key=<redacted>)"

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest as a personal message: 65 bytes, v in {27, 28}."""
        raw = self._key.sign_recoverable(personal_hash(digest), hasher=None)
        return raw[:64] + bytes([raw[64] + 27])


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
