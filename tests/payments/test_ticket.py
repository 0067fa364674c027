from fractions import Fraction

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from hypothesis import given, settings, strategies as st

from framemesh.chain.keys import Signer as ChainSigner
from framemesh.payments.signatures import BadSignature, SECP256K1_N, recover
from framemesh.payments.ticket import (
    MAX_WIN_PROB,
    Ticket,
    expected_value,
    is_winning,
    recipient_rand_hash,
    tickets_needed,
    win_prob_for,
)

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


def Signer(key: bytes) -> ChainSigner:
    return ChainSigner.from_key(key)


def ticket(**kw: object) -> Ticket:
    base = dict(
        recipient="0x" + "11" * 20,
        sender=Account.from_key(KEY).address,
        face_value=10**15,
        win_prob=MAX_WIN_PROB // 100,
        sender_nonce=1,
        recipient_rand_hash=recipient_rand_hash(42),
        creation_round=7,
        creation_round_block_hash=b"\x22" * 32,
    )
    base.update(kw)
    return Ticket(**base)  # type: ignore[arg-type]


def test_packed_layout_matches_abi_encode_packed() -> None:
    t = ticket()
    packed = t.packed()
    assert len(packed) == 20 + 20 + 32 * 3 + 32 + 64
    assert packed[:20] == b"\x11" * 20
    assert int.from_bytes(packed[40:72], "big") == 10**15
    assert t.aux_data == (7).to_bytes(32, "big") + b"\x22" * 32


def test_signature_matches_eth_account_and_recovers() -> None:
    t = ticket()
    signer = Signer(KEY)
    sig = signer.sign_digest(t.hash())
    theirs = Account.sign_message(encode_defunct(primitive=t.hash()), KEY).signature
    assert sig == bytes(theirs)
    assert recover(t.hash(), sig) == signer.address == t.sender
    assert Account.recover_message(encode_defunct(primitive=t.hash()), signature=sig) == signer.address


def test_any_field_change_changes_the_hash() -> None:
    h = ticket().hash()
    for change in (
        {"face_value": 10**15 + 1},
        {"sender_nonce": 2},
        {"creation_round": 8},
        {"recipient": "0x" + "12" * 20},
        {"recipient_rand_hash": recipient_rand_hash(43)},
    ):
        assert ticket(**change).hash() != h


def test_forged_and_malformed_signatures() -> None:
    t = ticket()
    sig = Signer(KEY).sign_digest(t.hash())
    other = Signer(b"\x01" * 32)
    assert recover(t.hash(), other.sign_digest(t.hash())) != t.sender
    assert recover(ticket(sender_nonce=9).hash(), sig) != t.sender
    with pytest.raises(BadSignature, match="65 bytes"):
        recover(t.hash(), sig[:64])
    with pytest.raises(BadSignature, match="v must be"):
        recover(t.hash(), sig[:64] + b"\x01")
    s = int.from_bytes(sig[32:64], "big")
    high = sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    with pytest.raises(BadSignature, match="lower half"):
        recover(t.hash(), high)


def test_win_rule_extremes() -> None:
    sig = Signer(KEY).sign_digest(ticket().hash())
    assert not is_winning(sig, 42, 0)
    with pytest.raises(ValueError):
        is_winning(sig[:10], 42, 1)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**64))
def test_win_rule_is_the_hash_comparison(nonce: int) -> None:
    sig = Signer(KEY).sign_digest(ticket(sender_nonce=nonce).hash())
    from eth_utils import keccak

    value = int.from_bytes(keccak(sig + (42).to_bytes(32, "big")), "big")
    assert is_winning(sig, 42, value + 1) and not is_winning(sig, 42, value)


def test_win_frequency_is_the_win_probability() -> None:
    signer = Signer(KEY)
    wp = win_prob_for(Fraction(1, 10))
    wins = sum(is_winning(signer.sign_digest(ticket(sender_nonce=n).hash()), 42, wp) for n in range(4000))
    # binomial(4000, 0.1): mean 400, sd 19; 5 sd either side
    assert 305 < wins < 495


def test_expected_value_and_tickets_needed() -> None:
    wp = win_prob_for(Fraction(1, 100))
    assert expected_value(1000, MAX_WIN_PROB) == 1000
    ev = expected_value(10**6, wp)
    assert abs(ev - 10**4) < 1
    assert tickets_needed(0, 10**6, wp) == 0
    n = tickets_needed(123_456, 10**6, wp)
    assert n * ev >= 123_456 > (n - 1) * ev
    with pytest.raises(ValueError):
        tickets_needed(1, 10**6, 0)
    with pytest.raises(ValueError):
        win_prob_for(0)
