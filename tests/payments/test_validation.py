from fractions import Fraction

import pytest

from framemesh.chain.keys import Signer
from framemesh.payments.params import make_params
from framemesh.payments.ticket import Ticket, win_prob_for
from framemesh.payments.validation import (
    ChainView,
    NonceRegistry,
    Reason,
    SenderFunds,
    TicketRejected,
    TicketValidator,
)

GATEWAY = Signer.from_key(b"\x07" * 32)
OTHER = Signer.from_key(b"\x08" * 32)
ORCH = Signer.from_key(b"\x09" * 32).address
SECRET = b"s" * 32
PREFIX = b"epoch-1:"
BLOCK_HASH = b"\xab" * 32
CHAIN = ChainView(current_round=10, current_block=1000, round_block_hashes={10: BLOCK_HASH, 9: b"\xaa" * 32})
FUNDS = SenderFunds(deposit=10**18, reserve_allocation=10**17)


def params(**kw: object):  # type: ignore[no-untyped-def]
    base = dict(
        recipient=ORCH, sender=GATEWAY.address, seed=PREFIX + b"r" * 24, face_value=10**15,
        win_prob=win_prob_for(Fraction(1, 2)), expiration_block=1100, creation_round=10,
        creation_round_block_hash=BLOCK_HASH,
    )
    base.update(kw)
    return make_params(SECRET, **base)  # type: ignore[arg-type]


def validator() -> TicketValidator:
    return TicketValidator(ORCH, SECRET, PREFIX)


def signed(p, nonce: int = 1, signer: Signer = GATEWAY, **changes: object) -> tuple[Ticket, bytes]:  # type: ignore[no-untyped-def]
    t = p.ticket(signer.address if "sender" not in changes else changes.pop("sender"), nonce)  # type: ignore[arg-type]
    if changes:
        t = Ticket(**{**t.__dict__, **changes})  # type: ignore[arg-type]
    return t, signer.sign_digest(t.hash())


def check(v: TicketValidator, p, t: Ticket, sig: bytes, **kw: object):  # type: ignore[no-untyped-def]
    args = dict(seed=p.seed, expiration_block=p.expiration_block, chain=CHAIN, funds=FUNDS)
    args.update(kw)
    return v.validate(t, sig, **args)  # type: ignore[arg-type]


def test_valid_ticket_is_accepted_and_win_is_decided_by_the_rule() -> None:
    v, p = validator(), params()
    results = [check(v, p, *signed(p, n)) for n in range(200)]
    wins = sum(r.wins for r in results)
    assert 60 < wins < 140  # p = 1/2 over 200 tickets
    assert all(r.recipient_rand == results[0].recipient_rand for r in results)


def test_replayed_ticket_is_refused() -> None:
    v, p = validator(), params()
    t, sig = signed(p, 5)
    check(v, p, t, sig)
    with pytest.raises(TicketRejected) as err:
        check(v, p, t, sig)
    assert err.value.reason is Reason.REPLAYED


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: signed(p, signer=OTHER, sender=GATEWAY.address), Reason.WRONG_SENDER),
        (lambda p: signed(p, recipient=OTHER.address), Reason.WRONG_RECIPIENT),
        (lambda p: signed(p, face_value=10**16), Reason.UNKNOWN_PARAMS),  # sender raised the face value
        (lambda p: signed(p, signer=OTHER), Reason.UNKNOWN_PARAMS),  # params were issued to another sender
        (lambda p: (signed(p)[0], signed(p)[1][:64] + b"\x05"), Reason.BAD_SIGNATURE),
    ],
)
def test_forged_or_altered_tickets_are_refused(mutate, reason: Reason) -> None:  # type: ignore[no-untyped-def]
    p = params()
    t, sig = mutate(p)
    with pytest.raises(TicketRejected) as err:
        check(validator(), p, t, sig)
    assert err.value.reason is reason


def test_expired_parameters_and_rounds() -> None:
    p = params()
    t, sig = signed(p)
    later = ChainView(current_round=12, current_block=1050, round_block_hashes={12: b"\x01" * 32})
    with pytest.raises(TicketRejected, match="round 10") as err:
        check(validator(), p, t, sig, chain=later)
    assert err.value.reason is Reason.EXPIRED
    past_block = ChainView(current_round=10, current_block=1101, round_block_hashes=CHAIN.round_block_hashes)
    with pytest.raises(TicketRejected, match="expired at block 1100"):
        check(validator(), p, t, sig, chain=past_block)
    forked = ChainView(current_round=10, current_block=1000, round_block_hashes={10: b"\x00" * 32})
    with pytest.raises(TicketRejected, match="block hash"):
        check(validator(), p, t, sig, chain=forked)


def test_previous_round_ticket_is_still_good() -> None:
    p = params()
    t, sig = signed(p)
    nxt = ChainView(current_round=11, current_block=1050, round_block_hashes={10: BLOCK_HASH, 11: b"\x02" * 32})
    assert check(validator(), p, t, sig, chain=nxt).ticket == t


def test_stale_params_from_before_a_restart() -> None:
    p = params()
    t, sig = signed(p)
    with pytest.raises(TicketRejected) as err:
        check(TicketValidator(ORCH, SECRET, b"epoch-2:"), p, t, sig)
    assert err.value.reason is Reason.UNKNOWN_PARAMS


def test_face_value_above_the_senders_funds() -> None:
    p = params(face_value=2 * 10**18)
    t, sig = signed(p)
    with pytest.raises(TicketRejected, match="max float") as err:
        check(validator(), p, t, sig)
    assert err.value.reason is Reason.INSUFFICIENT_FUNDS
    p2 = params()
    t2, sig2 = signed(p2)
    with pytest.raises(TicketRejected, match="max float"):
        check(validator(), p2, t2, sig2, pending_face_value=FUNDS.max_float - 10**14)
    with pytest.raises(TicketRejected, match="withdrawing"):
        check(validator(), p2, t2, sig2, funds=SenderFunds(10**18, 0, unlocking=True))


def test_nonce_registry_is_bounded_and_forgets() -> None:
    reg = NonceRegistry(max_per_params=2)
    assert reg.claim(b"a", 1) and reg.claim(b"a", 2)
    assert not reg.claim(b"a", 3)
    reg.forget_before({b"b"})
    assert reg.claim(b"a", 1)


def test_validator_hides_its_secret() -> None:
    assert "redacted" in repr(validator()) and "sss" not in repr(validator())
