"""Errors raised by `framemesh.provenance`.

Signing raises; reading never does (`read_provenance` returns a `Verdict` whose
status says what is wrong with a file). One root, so a node that only asks "did
provenance fail?" catches one class::

    ProvenanceError             root of every error raised by framemesh.provenance
    ├── IdentityError           a signing identity cannot be made or loaded: missing
    │                           or unreadable key/chain files, a key that is not
    │                           P-256 PKCS#8, a chain whose first certificate is not
    │                           the key's, an address that is not an Ethereum address
    ├── UnsupportedFormat       a file type C2PA cannot carry a manifest in here; the
    │                           message lists the supported extensions (also a
    │                           ValueError)
    ├── InvalidFacts            the facts to sign are inconsistent (a transcode with no
    │                           parent, a missing ingredient file, ...) (also a
    │                           ValueError)
    └── SigningError            good-looking input that c2pa could not sign (corrupt
                                media, a manifest c2pa refuses)

The orchestrator maps IdentityError to a start-up failure, UnsupportedFormat and
InvalidFacts to its own bug (it chose the format and the facts), SigningError to a
failed job. Every message says what is wrong and what to do.
"""

from __future__ import annotations


class ProvenanceError(Exception):
    """Root of every error raised by `framemesh.provenance`."""


class IdentityError(ProvenanceError):
    """A signing identity (key + certificate chain) cannot be made or loaded."""


class UnsupportedFormat(ProvenanceError, ValueError):
    """A file type this module cannot sign or read; the message lists the supported ones."""


class InvalidFacts(ProvenanceError, ValueError):
    """The facts handed to `sign_file` are inconsistent or name missing files."""


class SigningError(ProvenanceError):
    """c2pa could not sign the file."""
