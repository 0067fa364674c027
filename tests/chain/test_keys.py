"""Keystore accounts and the Signer."""

from __future__ import annotations

import json
import pickle
import stat
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings
from hypothesis import strategies as st

from framemesh.chain.errors import KeystoreError
from framemesh.chain.keys import Signer, create_keystore, load_keystore

KEY = bytes(range(1, 33))
FAST = {"kdf": "pbkdf2", "iterations": 2}  # a weak KDF keeps the suite fast


def test_default_keystore_uses_a_strong_kdf(tmp_path: Path) -> None:
    path = tmp_path / "strong.json"
    signer = create_keystore(path, "pw")
    data = json.loads(path.read_text())
    assert data["crypto"]["kdf"] == "scrypt"
    assert data["crypto"]["kdfparams"]["n"] >= 2**17
    assert load_keystore(path, "pw") == signer


def test_create_and_load_keystore(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "orchestrator.json"
    created = create_keystore(path, "correct horse", **FAST)
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_keystore(path, "correct horse")
    assert loaded.address == created.address
    assert loaded.is_local


def test_keystore_file_holds_no_plain_key(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps(Signer.from_key(KEY).encrypt("pw", **FAST)))
    assert KEY.hex() not in path.read_text()
    assert load_keystore(path, "pw").address == Account.from_key(KEY).address


def test_wrong_password(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    create_keystore(path, "right", **FAST)
    with pytest.raises(KeystoreError, match="wrong password"):
        load_keystore(path, "wrong")


def test_password_from_env_then_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.json"
    signer = create_keystore(path, "from-env", **FAST)
    monkeypatch.setenv("FRAMEMESH_KEYSTORE_PASSWORD", "from-env")
    assert load_keystore(path).address == signer.address
    monkeypatch.delenv("FRAMEMESH_KEYSTORE_PASSWORD")
    pw = tmp_path / "pw.txt"
    pw.write_text("from-env\n")
    assert load_keystore(path, password_file=pw).address == signer.address
    with pytest.raises(KeystoreError, match="no keystore password"):
        load_keystore(path)
    with pytest.raises(KeystoreError, match="cannot read password file"):
        load_keystore(path, password_file=tmp_path / "missing.txt")


def test_bad_keystore_files(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError, match="no keystore file"):
        load_keystore(tmp_path / "missing.json", "pw")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("not json")
    with pytest.raises(KeystoreError, match="not a readable keystore"):
        load_keystore(garbage, "pw")
    wrong_shape = tmp_path / "shape.json"
    wrong_shape.write_text('{"crypto": {}}')
    with pytest.raises(KeystoreError, match="malformed"):
        load_keystore(wrong_shape, "pw")


def test_create_refuses_to_overwrite_and_empty_password(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    first = create_keystore(path, "pw", **FAST)
    with pytest.raises(KeystoreError, match="already exists"):
        create_keystore(path, "pw", **FAST)
    assert load_keystore(path, "pw").address == first.address
    second = create_keystore(path, "pw", overwrite=True, **FAST)
    assert second.address != first.address
    with pytest.raises(KeystoreError, match="empty"):
        create_keystore(tmp_path / "other.json", "", **FAST)


def test_signer_never_shows_its_key() -> None:
    signer = Signer.from_key(KEY)
    shown = repr(signer) + str(signer) + f"{signer}" + repr([signer])
    assert signer.address in shown
    assert KEY.hex() not in shown and KEY.hex().upper() not in shown
    assert "local key" in repr(signer)
    assert not hasattr(signer, "key") and not hasattr(signer, "__dict__")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(signer)


def test_errors_never_carry_the_password(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    create_keystore(path, "s3cret-pass", **FAST)
    with pytest.raises(KeystoreError) as info:
        load_keystore(path, "s3cret-wrong")
    assert "s3cret" not in str(info.value)


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@given(st.binary(min_size=32, max_size=32))
@settings(max_examples=50)
def test_sign_digest_is_a_personal_message_signature(digest: bytes) -> None:
    signer = Signer.from_key(KEY)
    sig = signer.sign_digest(digest)
    assert len(sig) == 65 and sig[64] in (27, 28)
    assert int.from_bytes(sig[32:64], "big") <= SECP256K1_N // 2  # low s, as the contracts demand
    assert Account.recover_message(encode_defunct(primitive=digest), signature=sig) == signer.address


def test_sign_digest_takes_only_digests() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Signer.from_key(KEY).sign_digest(b"short")


def test_dev_signer_cannot_sign() -> None:
    dev = Signer.dev("0x7e5f4552091a69125d5dfcb7b8c2659029395bdf")
    assert dev.address == "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"  # checksummed
    assert not dev.is_local and "dev account" in repr(dev)
    with pytest.raises(KeystoreError, match="no local key"):
        dev.sign_digest(b"x" * 32)
    assert dev == Signer.from_key(b"\x00" * 31 + b"\x01")  # same address, same account
    assert len({dev, Signer.dev(dev.address)}) == 1


def test_invalid_private_key() -> None:
    with pytest.raises(KeystoreError, match="not a valid private key"):
        Signer.from_key(b"\x00" * 32)
