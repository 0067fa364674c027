"""c2pa trust settings, shared by signing (which validates ingredients) and reading. Pure.

c2pa's default policy accepts a signing certificate only with the emailProtection or
timeStamping extended key usage; `ALLOWED_EKUS` adds C2PA claim signing and
documentSigning, the usages a certificate made for content signing carries. Without
`user_anchors`, no root is trusted and every signer reads ``untrusted``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: C2PA claim signing, documentSigning (RFC 9336), emailProtection, timeStamping
ALLOWED_EKUS = (
    "1.3.6.1.4.1.62558.2.1",
    "1.3.6.1.5.5.7.3.36",
    "1.3.6.1.5.5.7.3.4",
    "1.3.6.1.5.5.7.3.8",
)


def settings(anchors: Iterable[str | bytes] = (), *, verify: dict[str, Any] | None = None) -> dict[str, Any]:
    """A c2pa settings document trusting `anchors` (PEM roots), offline (no OCSP, no
    remote manifests), with `verify` merged over the verify section."""
    pems = [a.decode() if isinstance(a, bytes) else a for a in anchors]
    trust: dict[str, Any] = {"trust_config": "\n".join(ALLOWED_EKUS) + "\n"}
    if pems:
        trust["user_anchors"] = "\n".join(p.strip() for p in pems) + "\n"
    return {
        "version": 1,
        "trust": trust,
        "verify": {
            "verify_trust": True,
            "remote_manifest_fetch": False,
            "ocsp_fetch": False,
            **(verify or {}),
        },
    }
