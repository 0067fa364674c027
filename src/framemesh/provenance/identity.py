"""Signing identities: an ES256 (P-256) key and the X.509 chain that vouches for it.

C2PA signs with an X.509 certificate, not with a chain key, so an orchestrator holds
two keys: its on-chain (secp256k1) key, which stakes and is paid, and this signing key.
The certificate binds the two: its subject is ``CN=<name>, O=framemesh,
OU=eth:<address>`` and it also carries the address as a ``UID`` attribute and as a
subjectAltName URI ``eth:<address>``. The ``OU`` copy is the one that matters: c2pa
reports a signer's CN, O and OU, so a verifier reads the address from there, and the
trusted CA that issued the certificate is what makes it believable. (`sign_file` can
add a second, independent binding: a signature by the chain key itself.)

Certificates made here are fit for C2PA claim signing:

- key usage ``digitalSignature`` (critical), ``CA:false``;
- extended key usages **C2PA claim signing** (1.3.6.1.4.1.62558.2.1) *and*
  **emailProtection** (1.3.6.1.5.5.7.3.4). c2pa's default policy accepts only
  emailProtection and timeStamping, and a certificate with none of the accepted EKUs
  reads as ``signingCredential.invalid`` — even to a verifier that trusts our CA.
  With emailProtection present, any stock C2PA verifier reads our manifests as
  well-formed (and as trusted once given our CA); the C2PA OID says what the key is
  for. `framemesh.provenance.verify` also lists the C2PA and documentSigning OIDs in
  its trust settings, so operators' own certificates carrying only those verify too.

`init_dev_identity` keeps a development CA in a directory (made once, reused) and
issues an end-entity certificate per orchestrator address. Production operators bring
their own key and chain (`load_identity`). Files: PEM, keys in PKCS#8 (what c2pa
needs), written with mode 0600.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from .errors import IdentityError

__all__ = [
    "C2PA_CLAIM_SIGNING",
    "DOCUMENT_SIGNING",
    "DevCA",
    "Identity",
    "address_from_certificate",
    "init_dev_identity",
    "load_identity",
    "normalize_address",
]

#: the C2PA claim-signing extended key usage
C2PA_CLAIM_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")
#: id-kp-documentSigning (RFC 9336)
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
#: what `DevCA.issue` puts in a signing certificate (see the module docstring)
SIGNING_EKUS: tuple[ObjectIdentifier, ...] = (C2PA_CLAIM_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION)

ADDRESS_PREFIX = "eth:"
ORGANIZATION = "framemesh"
CA_KEY, CA_CERT = "ca.key.pem", "ca.pem"
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def normalize_address(address: str) -> str:
    """`address` as an EIP-55 checksummed Ethereum address; IdentityError if it is not one."""
    if not isinstance(address, str) or not _ADDRESS.match(address.strip()):
        raise IdentityError(f"{address!r} is not an Ethereum address (0x and 40 hex digits)")
    try:
        from eth_utils.address import to_checksum_address
    except ImportError:  # the chain extra is not installed: keep the caller's spelling
        return address.strip()
    return str(to_checksum_address(address.strip()))


@dataclass(frozen=True)
class Identity:
    """A signing key (PKCS#8 PEM) and its chain PEM (end-entity first, then
    intermediates; the root may be included). The key never shows in repr."""

    key_pem: str = field(repr=False)
    chain_pem: str

    @cached_property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return tuple(x509.load_pem_x509_certificates(self.chain_pem.encode()))

    @property
    def certificate(self) -> x509.Certificate:
        """The end-entity (signing) certificate."""
        return self.certificates[0]

    @property
    def address(self) -> str | None:
        """The orchestrator address bound in the certificate, if any."""
        return address_from_certificate(self.certificate)

    @property
    def name(self) -> str | None:
        return _attribute(self.certificate.subject, NameOID.COMMON_NAME)

    @property
    def serial(self) -> int:
        return int(self.certificate.serial_number)

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def write(self, key_path: Path, chain_path: Path) -> None:
        """Write the key (mode 0600) and the chain."""
        _write_secret(Path(key_path), self.key_pem)
        Path(chain_path).write_text(self.chain_pem)

    def __post_init__(self) -> None:
        _check_pair(self.key_pem, self.chain_pem)

    def __repr__(self) -> str:
        return f"Identity(name={self.name!r}, address={self.address}, serial={self.serial:x})"


def address_from_certificate(cert: x509.Certificate) -> str | None:
    """The Ethereum address a certificate binds (subject OU or UID ``eth:0x...``, or a
    subjectAltName URI ``eth:0x...``), checksummed; None if it binds none."""
    candidates = [a.value for a in cert.subject if a.oid in (NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.USER_ID)]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        candidates += san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        pass
    for value in candidates:
        address = address_from_text(str(value))
        if address is not None:
            return address
    return None


def address_from_text(value: str) -> str | None:
    """``eth:0x...`` (as found in a certificate subject) to a checksummed address, else None."""
    if value.startswith(ADDRESS_PREFIX):
        try:
            return normalize_address(value[len(ADDRESS_PREFIX) :])
        except IdentityError:
            return None
    return None


class DevCA:
    """A development certificate authority: a self-signed P-256 root that issues
    signing certificates. Not for production: its key sits in a file."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.key, self.cert = key, cert

    @classmethod
    def create(cls, common_name: str = "framemesh dev CA", *, valid_days: int = 3650) -> DevCA:
        """A new root in memory."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            ]
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def load_or_create(cls, directory: Path) -> DevCA:
        """The CA kept in `directory` (``ca.key.pem``, ``ca.pem``), made on first use."""
        directory = Path(directory)
        key_path, cert_path = directory / CA_KEY, directory / CA_CERT
        if key_path.exists() and cert_path.exists():
            try:
                key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            except (OSError, ValueError, TypeError) as exc:
                raise IdentityError(
                    f"cannot read the dev CA in {directory} ({exc}); remove ca*.pem to make a new one"
                ) from exc
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise IdentityError(f"{key_path} is not an EC key; remove ca*.pem to make a new CA")
            return cls(key, cert)
        if key_path.exists() or cert_path.exists():
            raise IdentityError(
                f"{directory} holds only half a CA ({CA_KEY} / {CA_CERT}); remove it or restore the other"
            )
        directory.mkdir(parents=True, exist_ok=True)
        ca = cls.create()
        _write_secret(key_path, _pkcs8(ca.key))
        cert_path.write_text(ca.pem)
        return ca

    @property
    def pem(self) -> str:
        """The root certificate: what verifiers list as a trust anchor."""
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(
        self,
        *,
        address: str,
        name: str,
        valid_days: int = 365,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        ekus: Sequence[ObjectIdentifier] = SIGNING_EKUS,
    ) -> Identity:
        """A new key and a certificate binding `address` under `name`. Tests pass
        `not_before`/`not_after` for expired certificates and `ekus` for wrong ones."""
        address = normalize_address(address)
        if not name or not name.strip():
            raise IdentityError("an identity needs a name (the certificate's CN)")
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        start = not_before or now - dt.timedelta(minutes=5)
        end = not_after or now + dt.timedelta(days=valid_days)
        bound = f"{ADDRESS_PREFIX}{address}"
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COMMON_NAME, name.strip()),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, bound),
                        x509.NameAttribute(NameOID.USER_ID, bound),
                    ]
                )
            )
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(bound)]), critical=False)
        )
        if ekus:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(ekus)), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        chain = cert.public_bytes(serialization.Encoding.PEM).decode() + self.pem
        return Identity(key_pem=_pkcs8(key), chain_pem=chain)


def init_dev_identity(directory: Path, *, address: str, name: str) -> Identity:
    """A development identity for `address` under `directory`.

    The CA (``ca.key.pem``, ``ca.pem``) is made once per directory and reused; the
    orchestrator's key and chain are ``<address>.key.pem`` and ``<address>.chain.pem``,
    reused if they exist with the same name and are valid for at least a day more,
    otherwise issued anew. Give verifiers ``ca.pem`` as a trust anchor.
    """
    directory = Path(directory)
    address = normalize_address(address)
    ca = DevCA.load_or_create(directory)
    key_path, chain_path = directory / f"{address}.key.pem", directory / f"{address}.chain.pem"
    if key_path.exists() and chain_path.exists():
        try:
            existing = load_identity(key_path, chain_path)
        except IdentityError:
            existing = None
        if (
            existing is not None
            and existing.name == name.strip()
            and existing.address == address
            and existing.certificates[-1] == ca.cert
            and existing.certificate.not_valid_after_utc > _now() + dt.timedelta(days=1)
        ):
            return existing
    identity = ca.issue(address=address, name=name)
    identity.write(key_path, chain_path)
    return identity


def load_identity(key_path: Path, chain_path: Path) -> Identity:
    """An operator's own identity: a P-256 private key (PKCS#8 or SEC1 PEM, unencrypted)
    and a chain PEM, end-entity first. Raises IdentityError with what is wrong."""
    try:
        key_bytes, chain = Path(key_path).read_bytes(), Path(chain_path).read_text()
    except OSError as exc:
        raise IdentityError(f"cannot read the signing key or chain ({exc.strerror}: {exc.filename})") from None
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except (ValueError, TypeError) as exc:
        raise IdentityError(f"{key_path} is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise IdentityError(f"{key_path} is not a P-256 (ES256) key; C2PA signing here uses ES256")
    return Identity(key_pem=_pkcs8(key), chain_pem=chain)


def _check_pair(key_pem: str, chain_pem: str) -> None:
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise IdentityError(f"the signing key is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise IdentityError("the signing key is not a P-256 (ES256) key")
    if "-----BEGIN CERTIFICATE-----" not in chain_pem:
        raise IdentityError("the certificate chain is empty: give PEM certificates, end-entity first")
    try:
        certs = x509.load_pem_x509_certificates(chain_pem.encode())
    except ValueError as exc:
        raise IdentityError(f"the certificate chain is not PEM certificates ({exc})") from None
    if not certs:
        raise IdentityError("the certificate chain is empty")
    if certs[0].public_key() != key.public_key():
        raise IdentityError(
            "the chain's first certificate is not the signing key's; put the end-entity certificate first"
        )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _attribute(name: x509.Name, oid: ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
