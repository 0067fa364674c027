"""Provenance: a signed C2PA manifest on every output, readable by anyone.

- `identity`: signing identities (ES256 key + X.509 chain binding the orchestrator's
  address); a development CA for devnets.
- `sign`: `sign_file(src, dest, identity, facts)` embeds a manifest.
- `verify`: `read_provenance(path, trust_anchors=...)` returns a `Verdict`, never raises.
- `binding`: the ``framemesh.orchestrator`` assertion and the chain-key signature in it.
- `errors`: the exception hierarchy.
"""

from .errors import (
    IdentityError,
    InvalidFacts,
    ProvenanceError,
    SigningError,
    UnsupportedFormat,
)
from .identity import (
    DevCA,
    Identity,
    address_from_certificate,
    init_dev_identity,
    load_identity,
)
from .sign import Facts, Ingredient, sign_file
from .verify import ManifestInfo, Verdict, read_provenance

__all__ = [
    "DevCA",
    "Facts",
    "Identity",
    "IdentityError",
    "Ingredient",
    "InvalidFacts",
    "ManifestInfo",
    "ProvenanceError",
    "SigningError",
    "UnsupportedFormat",
    "Verdict",
    "address_from_certificate",
    "init_dev_identity",
    "load_identity",
    "read_provenance",
    "sign_file",
]
