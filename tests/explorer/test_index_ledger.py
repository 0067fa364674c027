"""The ledger's transitions on hand-made events (no chain): stakes that count from the
next round, the active set per round, deposits and tickets."""

from __future__ import annotations

from itertools import count
from typing import Any

from framemesh.explorer.index.ledger import Ledger, StakeTrack
from framemesh.explorer.index.store import StoredEvent

A = "0x" + "aa" * 20
B = "0x" + "bb" * 20
G = "0x" + "99" * 20
ZERO = "0x" + "00" * 20
_ids = count(1)


def ev(name: str, round_: int, **fields: Any) -> StoredEvent:
    i = next(_ids)
    return StoredEvent(block=i, log_index=0, tx_hash=f"0x{i:064x}", tx_from=A, contract="X", name=name,
                       round=round_, fields=fields, id=i)


def test_a_stake_change_counts_from_the_next_round() -> None:
    s = StakeTrack()
    s.change(100, 3)
    assert (s.active(3), s.active(4)) == (0, 100)
    s.change(50, 3)  # a second change in the same round keeps the round's stake
    assert (s.active(3), s.active(4)) == (0, 150)
    s.change(-20, 5)
    assert (s.active(5), s.active(6)) == (150, 130)


def test_active_set_follows_activations_evictions_and_returns() -> None:
    ledger = Ledger()
    ledger.apply(ev("TranscoderActivated", 1, transcoder=A, activationRound=2))
    ledger.apply(ev("TranscoderActivated", 1, transcoder=B, activationRound=2))
    ledger.apply(ev("TranscoderDeactivated", 3, transcoder=B, deactivationRound=4))
    ledger.apply(ev("TranscoderActivated", 3, transcoder=B, activationRound=4))  # back in the same round
    ledger.apply(ev("TranscoderDeactivated", 5, transcoder=A, deactivationRound=6))
    assert ledger.active_in(1) == [] and ledger.active_in(2) == [A, B]
    assert ledger.active_in(4) == [A, B] and ledger.active_in(6) == [B]
    assert ledger.orchestrators[B].intervals == [[2, None]]


def test_bonds_move_stake_between_orchestrators() -> None:
    ledger = Ledger()
    d = "0x" + "dd" * 20
    ledger.apply(ev("Bond", 1, newDelegate=A, oldDelegate=ZERO, delegator=d, additionalAmount=100, bondedAmount=100))
    assert ledger.stakes[A].amount == 100 and ledger.delegators[d].start_round == 2
    ledger.apply(ev("Bond", 2, newDelegate=A, oldDelegate=A, delegator=d, additionalAmount=10, bondedAmount=110))
    assert ledger.stakes[A].amount == 110 and ledger.delegators[d].start_round == 2
    ledger.apply(ev("Bond", 3, newDelegate=B, oldDelegate=A, delegator=d, additionalAmount=5, bondedAmount=115))
    assert (ledger.stakes[A].amount, ledger.stakes[B].amount) == (0, 115)
    assert ledger.delegators[d].delegate == B and ledger.delegators[d].start_round == 4
    ledger.apply(ev("Unbond", 4, delegate=B, delegator=d, unbondingLockId=0, amount=115, withdrawRound=6))
    assert ledger.delegators[d].delegate is None and ledger.stakes[B].amount == 0
    ledger.apply(ev("Rebond", 5, delegate=A, delegator=d, unbondingLockId=0, amount=115))
    assert ledger.delegators[d].delegate == A and ledger.delegators[d].locks[0].state == "rebonded"
    assert ledger.delegators[d].start_round == 6 and ledger.stakes[A].active(6) == 115


def test_deposits_reserves_and_tickets() -> None:
    ledger = Ledger()
    ledger.apply(ev("DepositFunded", 1, sender=G, amount=100))
    ledger.apply(ev("ReserveFunded", 1, reserveHolder=G, amount=50))
    aux = "0x" + (1).to_bytes(32, "big").hex() + "ee" * 32
    ledger.apply(ev("WinningTicketRedeemed", 2, sender=G, recipient=A, faceValue=30, winProb=1, senderNonce=1, recipientRand=1, auxData=aux))
    ledger.apply(ev("WinningTicketTransfer", 2, sender=G, recipient=A, amount=30))
    # the next one is more than the deposit left: the rest comes from the reserve
    ledger.apply(ev("ReserveClaimed", 3, reserveHolder=G, claimant=A, amount=20))
    ledger.apply(ev("WinningTicketRedeemed", 3, sender=G, recipient=A, faceValue=90, winProb=1, senderNonce=2, recipientRand=2, auxData=aux))
    ledger.apply(ev("WinningTicketTransfer", 3, sender=G, recipient=A, amount=90))
    g = ledger.gateways[G]
    assert (g.deposit, g.reserve, g.paid) == (0, 30, 120)
    assert ledger.rounds[1].tickets_won == 2 and ledger.rounds[1].tickets_won_face == 120  # made in round 1
    assert (ledger.rounds[2].tickets_redeemed, ledger.rounds[3].tickets_redeemed) == (1, 1)
    assert ledger.orchestrators[A].tickets[3] == [1, 90]
    ledger.apply(ev("Unlock", 4, sender=G, startRound=4, endRound=6))
    assert g.unlock_until == 6
    ledger.apply(ev("Withdrawal", 6, sender=G, deposit=0, reserve=30))
    assert (g.deposit, g.reserve, g.unlock_until) == (0, 0, None)


def test_events_it_does_not_track_still_move_its_position() -> None:
    ledger = Ledger()
    e = ev("ParameterUpdate", 1, param="roundLength", value=5)
    ledger.apply(e)
    assert ledger.last_event_id == e.id and not ledger.rounds


def test_a_claim_that_disagrees_with_the_replay_is_listed_and_the_event_kept() -> None:
    ledger = Ledger()
    d = "0x" + "dd" * 20
    ledger.apply(ev("Bond", 1, newDelegate=A, oldDelegate=ZERO, delegator=d, additionalAmount=100, bondedAmount=100))
    ledger.apply(ev("EarningsClaimed", 3, delegate=A, delegator=d, rewards=7, fees=1, startRound=2, endRound=3))
    assert len(ledger.mismatches) == 1 and "paid rewards 7, fees 1" in ledger.mismatches[0]
    assert (ledger.delegators[d].bonded, ledger.delegators[d].fees, ledger.delegators[d].last_claim) == (107, 1, 3)
    ledger.apply(ev("WithdrawFees", 3, delegator=d, recipient=d, amount=1))
    assert (ledger.delegators[d].fees, ledger.delegators[d].fees_withdrawn) == (0, 1)


def test_a_slash_takes_from_the_bond_and_the_stake() -> None:
    ledger = Ledger()
    ledger.apply(ev("Bond", 1, newDelegate=A, oldDelegate=ZERO, delegator=A, additionalAmount=1000, bondedAmount=1000))
    ledger.apply(ev("TranscoderUpdate", 1, transcoder=A, rewardCut=0, feeShare=0))
    ledger.apply(ev("TranscoderActivated", 1, transcoder=A, activationRound=2))
    assert ledger.is_registered(A)
    ledger.apply(ev("TranscoderDeactivated", 3, transcoder=A, deactivationRound=4))
    ledger.apply(ev("TranscoderSlashed", 3, transcoder=A, finder=B, penalty=100, finderReward=10))
    assert ledger.delegators[A].bonded == 900 and ledger.stakes[A].amount == 900 and ledger.stakes[A].active(3) == 1000
    assert ledger.active_in(3) == [A] and ledger.active_in(4) == []


def test_each_round_records_the_stake_its_active_orchestrators_start_with() -> None:
    ledger = Ledger()
    ledger.apply(ev("Bond", 1, newDelegate=A, oldDelegate=ZERO, delegator=A, additionalAmount=1000, bondedAmount=1000))
    ledger.apply(ev("TranscoderActivated", 1, transcoder=A, activationRound=2))
    ledger.apply(ev("NewRound", 2, round=2, blockHash="0x"))
    ledger.apply(ev("Reward", 2, transcoder=A, amount=50))
    ledger.apply(ev("NewRound", 3, round=3, blockHash="0x"))
    o = ledger.orchestrators[A]
    assert o.round_stakes == {2: 1000, 3: 1050} and o.rewards[2] == (50, None)
    assert ledger.rounds[2].minted == 50 and ledger.rounds[2].reward_callers == {A}
