"""The `framemesh.orchestrator` assertion: who made an output, for which job, and
(optionally) the orchestrator's chain key vouching for the certificate that signed it.

Pure: no I/O, no c2pa. The assertion sits inside the C2PA claim, so the certificate's
signature covers it. With a chain key, it also holds an EIP-191 signature (what
`framemesh.chain.keys.Signer.sign_digest` makes) over::

    sha256(b"framemesh.orchestrator/v1\\n" + canonical JSON of every other field)

and the fields name the signing certificate (issuer CN and serial number). So the
chain key says "certificate S of issuer I makes outputs for job J on my behalf". A
thief who copies the assertion into a manifest signed by another certificate is
caught (the serial differs); a manifest cannot sign itself, which is why the chain key
signs the certificate and the job rather than the manifest. The binding means
something only when the certificate chains to a trusted root (anyone can mint a
certificate with any serial under a root nobody trusts).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

LABEL = "framemesh.orchestrator"
DOMAIN = b"framemesh.orchestrator/v1\n"
SIGNATURE = "chain_signature"
#: key, in an ingredient's metadata, of the SHA-256 (hex) of the ingredient file
INGREDIENT_SHA256 = "framemesh.sha256"


class ChainKey(Protocol):
    """What signs with the orchestrator's chain key (`framemesh.chain.keys.Signer`)."""

    @property
    def address(self) -> str: ...

    def sign_digest(self, digest: bytes) -> bytes: ...


def digest(fields: dict[str, Any]) -> bytes:
    """The 32 bytes the chain key signs: every field but the signature, canonical JSON."""
    body = {k: v for k, v in fields.items() if k != SIGNATURE}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(DOMAIN + canonical.encode()).digest()


def sign(fields: dict[str, Any], key: ChainKey) -> dict[str, Any]:
    """`fields` with the chain key's signature added (hex, 0x-prefixed)."""
    return {**fields, SIGNATURE: "0x" + key.sign_digest(digest(fields)).hex()}


def recover(fields: dict[str, Any]) -> str:
    """The address whose chain key signed `fields`; ValueError if it cannot tell."""
    from framemesh.payments.signatures import recover as recover_personal

    raw = fields.get(SIGNATURE)
    if not isinstance(raw, str) or not raw.startswith("0x"):
        raise ValueError("no chain-key signature")
    return recover_personal(digest(fields), bytes.fromhex(raw[2:]))
