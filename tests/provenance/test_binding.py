"""The orchestrator's chain key vouching for its signing certificate, and what a
verifier concludes when the pieces disagree."""

from __future__ import annotations

from pathlib import Path

import pytest

from framemesh.chain.keys import Signer
from framemesh.provenance import (
    Facts,
    Identity,
    InvalidFacts,
    binding,
    read_provenance,
    sign_file,
)

from .test_sign import generated

CHAIN_KEY = Signer.from_key(bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"))
OTHER_KEY = Signer.from_key(bytes.fromhex("8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f"))


@pytest.fixture(scope="module")
def staked(dev_ca) -> Identity:
    """An identity whose certificate binds CHAIN_KEY's address."""
    return dev_ca.issue(address=CHAIN_KEY.address, name="staked")


def facts(**extra: object) -> Facts:
    return generated(address=CHAIN_KEY.address, **extra)


def test_chain_key_signature_binds_the_address_twice(media, staked, ca_pem, tmp_path) -> None:
    out = sign_file(media["png"], tmp_path / "a.png", staked, facts(), chain_key=CHAIN_KEY)
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    assert verdict.status == "valid", verdict.problems
    assert verdict.address == CHAIN_KEY.address
    assert verdict.active is not None and verdict.active.address_bound_by == ("certificate", "chain-key")


def test_digest_covers_every_field_but_the_signature() -> None:
    fields = {"address": CHAIN_KEY.address, "job_id": "j", "certificate": {"serial": "ab", "issuer": "x"}}
    signed = binding.sign(fields, CHAIN_KEY)
    assert binding.recover(signed) == CHAIN_KEY.address
    assert binding.digest(signed) == binding.digest(fields)
    for changed in ({**signed, "job_id": "k"}, {**signed, "certificate": {"serial": "ac", "issuer": "x"}}):
        assert binding.recover(changed) != CHAIN_KEY.address
    with pytest.raises(ValueError, match="no chain-key signature"):
        binding.recover(fields)


def test_chain_key_must_be_the_orchestrators(media, staked, tmp_path) -> None:
    with pytest.raises(InvalidFacts, match="chain key is"):
        sign_file(media["png"], tmp_path / "a.png", staked, facts(), chain_key=OTHER_KEY)


def test_assertion_copied_under_another_certificate_is_invalid(
    media, staked, dev_ca, ca_pem, tmp_path, monkeypatch
) -> None:
    """A thief with its own trusted certificate copies a real chain-key endorsement."""
    first = sign_file(media["png"], tmp_path / "first.png", staked, facts(), chain_key=CHAIN_KEY)
    assert read_provenance(first, trust_anchors=[ca_pem]).status == "valid"
    endorsement: dict = {}
    real_sign = binding.sign

    def keep(fields: dict, key: object) -> dict:
        endorsement.update(real_sign(fields, CHAIN_KEY))
        return endorsement

    monkeypatch.setattr(binding, "sign", keep)
    sign_file(media["png"], tmp_path / "again.png", staked, facts(), chain_key=CHAIN_KEY)
    thief = dev_ca.issue(address=CHAIN_KEY.address, name="thief")  # same address, another certificate
    monkeypatch.setattr(binding, "sign", lambda fields, key: endorsement)
    stolen = sign_file(media["png"], tmp_path / "stolen.png", thief, facts(), chain_key=CHAIN_KEY)
    verdict = read_provenance(stolen, trust_anchors=[ca_pem])
    assert verdict.status == "invalid"
    assert any("vouches for certificate" in p for p in verdict.problems), verdict.problems


def test_signature_by_another_chain_key_is_invalid(media, staked, ca_pem, tmp_path, monkeypatch) -> None:
    real_sign = binding.sign
    monkeypatch.setattr(binding, "sign", lambda fields, key: real_sign(fields, OTHER_KEY))
    out = sign_file(media["png"], tmp_path / "a.png", staked, facts(), chain_key=CHAIN_KEY)
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    assert verdict.status == "invalid"
    assert any(f"is by {OTHER_KEY.address}" in p for p in verdict.problems)


def test_assertion_naming_another_address_than_the_certificate_is_invalid(media, dev_ca, ca_pem, tmp_path) -> None:
    class Unbound(Identity):
        """A certificate that binds OTHER's address, presented as binding none."""

        @property
        def address(self) -> str | None:
            return None

    real = dev_ca.issue(address=OTHER_KEY.address, name="other")
    liar = Unbound(key_pem=real.key_pem, chain_pem=real.chain_pem)
    out = sign_file(media["png"], tmp_path / "a.png", liar, facts())
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    assert verdict.status == "invalid"
    assert verdict.address == OTHER_KEY.address  # the certificate wins over the claim
    assert any("but the certificate binds" in p for p in verdict.problems)


def test_forged_signature_bytes_are_invalid(media, staked, ca_pem, tmp_path, monkeypatch) -> None:
    real_sign = binding.sign
    monkeypatch.setattr(
        binding, "sign", lambda fields, key: {**real_sign(fields, key), binding.SIGNATURE: "0x" + "00" * 65}
    )
    out = sign_file(media["png"], tmp_path / "a.png", staked, facts(), chain_key=CHAIN_KEY)
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    assert verdict.status == "invalid"
    assert any("does not check" in p for p in verdict.problems)


def test_address_round_trips_through_files(staked, tmp_path: Path) -> None:
    staked.write(tmp_path / "k.pem", tmp_path / "c.pem")
    assert (tmp_path / "c.pem").read_text() == staked.chain_pem
