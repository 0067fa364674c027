"""Signing identities: the dev CA, address-bound certificates, operators' own keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from framemesh.provenance import (
    IdentityError,
    address_from_certificate,
    init_dev_identity,
    load_identity,
)
from framemesh.provenance.identity import C2PA_CLAIM_SIGNING, DevCA, normalize_address

from .conftest import ADDRESS, OTHER_ADDRESS


def test_dev_identity_binds_the_address_and_name(identity) -> None:
    cert = identity.certificate
    assert identity.address == normalize_address(ADDRESS)
    assert identity.name == "orchestrator-a"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "framemesh"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == f"eth:{identity.address}"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [f"eth:{identity.address}"]


def test_dev_certificate_is_fit_for_c2pa_signing(identity) -> None:
    cert = identity.certificate
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    ekus = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert C2PA_CLAIM_SIGNING in ekus and ExtendedKeyUsageOID.EMAIL_PROTECTION in ekus
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)


def test_chain_is_end_entity_then_ca(identity, keys_dir: Path) -> None:
    ee, ca = identity.certificates
    assert ca.subject == ee.issuer
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    ee.verify_directly_issued_by(ca)
    assert (keys_dir / "ca.pem").read_text() in identity.chain_pem


def test_key_is_pkcs8_and_private_on_disk(identity, keys_dir: Path) -> None:
    assert identity.key_pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, what c2pa needs
    for name in ("ca.key.pem", f"{identity.address}.key.pem"):
        assert stat.S_IMODE((keys_dir / name).stat().st_mode) == 0o600
    assert "PRIVATE" not in repr(identity)
    assert identity.address in repr(identity)


def test_ca_is_made_once_and_identity_reused(tmp_path: Path) -> None:
    first = init_dev_identity(tmp_path, address=ADDRESS, name="a")
    ca_before = (tmp_path / "ca.pem").read_bytes()
    again = init_dev_identity(tmp_path, address=ADDRESS, name="a")
    assert again.serial == first.serial
    other = init_dev_identity(tmp_path, address=OTHER_ADDRESS, name="b")
    assert (tmp_path / "ca.pem").read_bytes() == ca_before
    assert other.certificate.issuer == first.certificate.issuer
    renamed = init_dev_identity(tmp_path, address=ADDRESS, name="a2")
    assert renamed.serial != first.serial and renamed.name == "a2"


def test_a_new_ca_reissues_identities(tmp_path: Path) -> None:
    first = init_dev_identity(tmp_path, address=ADDRESS, name="a")
    (tmp_path / "ca.pem").unlink()
    (tmp_path / "ca.key.pem").unlink()
    again = init_dev_identity(tmp_path, address=ADDRESS, name="a")  # same CA name, new key
    assert again.serial != first.serial
    assert again.certificates[-1].public_bytes(serialization.Encoding.PEM).decode() == (tmp_path / "ca.pem").read_text()


def test_load_identity_round_trip(identity, keys_dir: Path) -> None:
    loaded = load_identity(keys_dir / f"{identity.address}.key.pem", keys_dir / f"{identity.address}.chain.pem")
    assert loaded.serial == identity.serial and loaded.address == identity.address


def test_load_identity_accepts_sec1_keys(identity, tmp_path: Path) -> None:
    sec1 = identity.private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    (tmp_path / "k.pem").write_bytes(sec1)
    (tmp_path / "c.pem").write_text(identity.chain_pem)
    loaded = load_identity(tmp_path / "k.pem", tmp_path / "c.pem")
    assert loaded.key_pem.startswith("-----BEGIN PRIVATE KEY-----")


@pytest.mark.parametrize(
    ("key", "chain", "message"),
    [
        ("missing", "good", "cannot read"),
        ("garbage", "good", "not an unencrypted PEM private key"),
        ("rsa_like", "good", "not a P-256"),
        ("other", "good", "not the signing key's"),
        ("good", "garbage", "not PEM certificates"),
        ("good", "empty", "chain is empty"),
    ],
)
def test_load_identity_says_what_is_wrong(identity, tmp_path: Path, key: str, chain: str, message: str) -> None:
    keys = {
        "good": identity.key_pem.encode(),
        "garbage": b"not a key",
        "rsa_like": ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        "other": ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    }
    chains = {
        "good": identity.chain_pem,
        "garbage": "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n",
        "empty": "",
    }
    if key != "missing":
        (tmp_path / "k.pem").write_bytes(keys[key])
    (tmp_path / "c.pem").write_text(chains[chain])
    with pytest.raises(IdentityError, match=message):
        load_identity(tmp_path / "k.pem", tmp_path / "c.pem")


@pytest.mark.parametrize("bad", ["", "0x123", "11" * 20, "0x" + "zz" * 20])
def test_bad_addresses_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(IdentityError, match="not an Ethereum address"):
        init_dev_identity(tmp_path, address=bad, name="a")


def test_address_read_back_only_from_eth_uri(dev_ca: DevCA) -> None:
    issued = dev_ca.issue(address=OTHER_ADDRESS.upper().replace("0X", "0x"), name="b")
    assert address_from_certificate(issued.certificate) == normalize_address(OTHER_ADDRESS)
    assert address_from_certificate(dev_ca.cert) is None


def test_half_a_ca_is_refused(tmp_path: Path) -> None:
    DevCA.load_or_create(tmp_path)
    (tmp_path / "ca.key.pem").unlink()
    with pytest.raises(IdentityError, match="half a CA"):
        DevCA.load_or_create(tmp_path)
