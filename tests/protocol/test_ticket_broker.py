"""TicketBroker: deposits, reserves, unlocks, and the rules of winning-ticket redemption."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_account import Account

from . import tickets as tk
from .conftest import UNLOCK_PERIOD, VALIDITY, Protocol

E18 = 10**18
ALWAYS = 2**256 - 1


@pytest.fixture
def gateway() -> Any:
    acct = Account.create("gateway")
    boa.env.set_balance(acct.address, 10**24)
    return acct


@pytest.fixture
def orchs(proto: Protocol, accounts: list[str]) -> list[str]:
    """Three active orchestrators."""
    out = accounts[:3]
    for i, o in enumerate(out):
        proto.register(o, (i + 1) * 100 * E18)
    proto.next_round()
    return out


def make(proto: Protocol, gateway: Any, recipient: str, face: int = 10**15, nonce: int = 1, rand: int = 42, win_prob: int = ALWAYS, creation_round: int | None = None) -> tuple[tk.Ticket, bytes, int]:
    rnd = proto.round() if creation_round is None else creation_round
    aux = tk.aux_data(rnd, bytes(proto.rounds.blockHashForRound(rnd)))
    t = tk.Ticket(recipient, gateway.address, face, win_prob, nonce, tk.rand_hash(rand), aux)
    return t, tk.sign(gateway.key, t), rand


def redeem(proto: Protocol, t: tk.Ticket, sig: bytes, rand: int, sender: str | None = None) -> None:
    with boa.env.prank(sender or t.recipient):
        proto.broker.redeemWinningTicket(t.as_tuple(), sig, rand)


def fund(proto: Protocol, gateway: Any, deposit: int, reserve: int) -> None:
    with boa.env.prank(gateway.address):
        proto.broker.fundDepositAndReserve(deposit, reserve, value=deposit + reserve)


def test_python_signature_is_accepted_and_hash_matches(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    t, sig, rand = make(proto, gateway, orchs[0])
    assert bytes(proto.broker.getTicketHash(t.as_tuple())) == t.hash()
    assert proto.broker.isValidTicketSig(gateway.address, sig, t.hash())
    assert proto.broker.isWinningTicket(sig, rand, ALWAYS)
    assert proto.broker.isWinningTicket(sig, rand, t.win_prob) == tk.wins(sig, rand, t.win_prob)


def test_redeem_pays_face_value_from_deposit(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    t, sig, rand = make(proto, gateway, orchs[0], face=3 * 10**17)
    redeem(proto, t, sig, rand)
    logs = proto.broker.get_logs()
    assert proto.broker.getSenderInfo(gateway.address)[0] == 7 * 10**17
    assert proto.broker.usedTickets(t.hash())
    assert proto.broker.feesHeld() == 3 * 10**17
    names = [type(x).__name__ for x in logs]
    assert names == ["WinningTicketRedeemed", "FeesCredited", "WinningTicketTransfer"], names
    assert logs[2].amount == 3 * 10**17


def test_double_redemption_refused(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    t, sig, rand = make(proto, gateway, orchs[0])
    redeem(proto, t, sig, rand)
    with boa.reverts("ticket is used"):
        redeem(proto, t, sig, rand)


def test_expired_ticket_refused(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    created = proto.round()
    t, sig, rand = make(proto, gateway, orchs[0])
    for _ in range(VALIDITY - 1):
        proto.next_round()
    t2, sig2, rand2 = make(proto, gateway, orchs[0], nonce=2, creation_round=created)
    redeem(proto, t2, sig2, rand2)  # still valid in the round after its creation round
    proto.next_round()
    with boa.reverts("ticket is expired"):
        redeem(proto, t, sig, rand)


def test_forged_signature_refused(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    t, sig, rand = make(proto, gateway, orchs[0])
    forger = Account.create("forger")
    with boa.reverts("invalid signature over ticket hash"):
        redeem(proto, t, tk.sign(forger.key, t), rand)
    # a changed face value breaks the signature
    bigger = tk.Ticket(t.recipient, t.sender, t.face_value * 2, t.win_prob, t.sender_nonce, t.recipient_rand_hash, t.aux_data)
    with boa.reverts("invalid signature over ticket hash"):
        redeem(proto, bigger, sig, rand)


def test_malleable_and_malformed_signatures_refused(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    t, sig, rand = make(proto, gateway, orchs[0])
    assert not proto.broker.isValidTicketSig(gateway.address, tk.high_s(sig), t.hash())
    with boa.reverts("invalid signature over ticket hash"):
        redeem(proto, t, tk.high_s(sig), rand)
    with boa.reverts("invalid signature over ticket hash"):
        redeem(proto, t, sig[:64], rand)
    with boa.reverts("invalid signature over ticket hash"):
        redeem(proto, t, sig + b"\x00", rand)


def test_non_winning_ticket_refused(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    t, sig, rand = make(proto, gateway, orchs[0], win_prob=0)
    with boa.reverts("ticket did not win"):
        redeem(proto, t, sig, rand)


def test_wrong_recipient_rand_refused(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    t, sig, rand = make(proto, gateway, orchs[0])
    with boa.reverts("recipientRand does not match recipientRandHash"):
        redeem(proto, t, sig, rand + 1)


def test_aux_data_checked(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    rnd = proto.round()
    for aux, reason in (
        (tk.aux_data(rnd, b"\x01" * 32), "ticket creationRoundBlockHash invalid for creationRound"),
        (tk.aux_data(rnd + 5, b"\x01" * 32), "ticket creationRound does not have a block hash"),
        (b"\x00" * 63, "invalid length for ticket auxData: must be 64 bytes"),
    ):
        t = tk.Ticket(orchs[0], gateway.address, 10, ALWAYS, 1, tk.rand_hash(1), aux)
        with boa.reverts(reason):
            redeem(proto, t, tk.sign(gateway.key, t), 1)


def test_recipient_must_be_active(proto: Protocol, gateway: Any, orchs: list[str], accounts: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    newcomer = accounts[10]
    proto.register(newcomer, 10 * 100 * E18)  # in the pool, active only next round
    t, sig, rand = make(proto, gateway, newcomer)
    with boa.reverts("ticket recipient is not an active orchestrator"):
        redeem(proto, t, sig, rand)


def test_zero_funds_and_unlocked_sender_refused(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    t, sig, rand = make(proto, gateway, orchs[0])
    with boa.reverts("sender deposit and reserve are zero"):
        redeem(proto, t, sig, rand)
    fund(proto, gateway, 10**18, 0)
    with boa.env.prank(gateway.address):
        proto.broker.unlock()
    proto.next_round()
    t, sig, rand = make(proto, gateway, orchs[0], nonce=2)
    redeem(proto, t, sig, rand)  # unlock in progress: tickets still pay
    proto.next_round()
    t, sig, rand = make(proto, gateway, orchs[0], nonce=3)
    with boa.reverts("sender is unlocked"):
        redeem(proto, t, sig, rand)


def test_unlock_and_withdraw_after_two_rounds(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 3 * 10**17, 10**17)
    with boa.env.prank(gateway.address), boa.reverts("no unlock request in progress"):
        proto.broker.withdraw()
    with boa.env.prank(gateway.address):
        proto.broker.unlock()
    with boa.env.prank(gateway.address), boa.reverts("unlock already initiated"):
        proto.broker.unlock()
    assert proto.broker.getSenderInfo(gateway.address)[1] == proto.round() + UNLOCK_PERIOD
    proto.next_round()
    with boa.env.prank(gateway.address), boa.reverts("account is locked"):
        proto.broker.withdraw()
    proto.next_round()
    before = boa.env.get_balance(gateway.address)
    with boa.env.prank(gateway.address):
        proto.broker.withdraw()
    assert boa.env.get_balance(gateway.address) - before == 4 * 10**17
    assert tuple(proto.broker.getSenderInfo(gateway.address))[:3] == (0, 0, 0)


def test_cancel_unlock_and_funding_cancels_unlock(proto: Protocol, gateway: Any) -> None:
    fund(proto, gateway, 10**17, 0)
    with boa.env.prank(gateway.address):
        proto.broker.unlock()
        proto.broker.cancelUnlock()
        assert not proto.broker.isUnlockInProgress(gateway.address)
        proto.broker.unlock()
        proto.broker.fundDeposit(value=1)
        assert not proto.broker.isUnlockInProgress(gateway.address)
        with boa.reverts("msg.value does not equal sum of deposit amount and reserve amount"):
            proto.broker.fundDepositAndReserve(1, 1, value=3)


def test_reserve_pays_no_orchestrator_more_than_its_share(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    reserve = 9 * 10**17
    fund(proto, gateway, 10**17, reserve)
    share = reserve // proto.bonding.currentRoundActiveSetSize()
    assert proto.bonding.currentRoundActiveSetSize() == 3
    o = orchs[0]
    # a big ticket drains the deposit, then takes exactly the fair share of the reserve
    t, sig, rand = make(proto, gateway, o, face=10**18)
    redeem(proto, t, sig, rand)
    assert proto.bonding.pendingFees(o, 0) >= 0
    assert proto.broker.getSenderInfo(gateway.address)[0] == 0
    assert proto.broker.claimedReserve(gateway.address, o) == share
    assert proto.broker.claimableReserve(gateway.address, o) == 0
    # another ticket in the same round pays nothing more to o
    t, sig, rand = make(proto, gateway, o, face=10**18, nonce=2)
    redeem(proto, t, sig, rand)
    assert proto.broker.claimedReserve(gateway.address, o) == share
    # each of the others still has its own share
    for other in orchs[1:]:
        assert proto.broker.claimableReserve(gateway.address, other) == share
        t, sig, rand = make(proto, gateway, other, face=10**18, nonce=3)
        redeem(proto, t, sig, rand)
        assert proto.broker.claimedReserve(gateway.address, other) == share
    assert proto.broker.getReserveInfo(gateway.address)[0] == reserve - 3 * share
    assert proto.broker.feesHeld() == 10**17 + 3 * share


def test_fees_are_credited_to_the_round(proto: Protocol, gateway: Any, orchs: list[str]) -> None:
    fund(proto, gateway, 10**18, 0)
    t, sig, rand = make(proto, gateway, orchs[0], face=10**16)
    redeem(proto, t, sig, rand)
    assert proto.bonding.getTranscoderEarningsPoolForRound(orchs[0], proto.round())[1] > 0
    assert proto.bonding.getTranscoder(orchs[0]).lastFeeRound == proto.round()


def test_only_bonding_manager_pays_fees_out(proto: Protocol, accounts: list[str]) -> None:
    with boa.env.prank(accounts[0]), boa.reverts("caller must be the BondingManager"):
        proto.broker.withdrawFeesTo(accounts[0], 1)
