"""The network's state and history, rebuilt from the protocol's events in order. Pure.

`Ledger.apply(event)` is the one transition function: each event moves the state the
way the contract moved its own (stakes that take effect the next round, earnings
pools, deposits and reserves, the active set per round), so the explorer answers
from events alone, with no chain reads. `ChainHistory` keeps one Ledger per index
file and feeds it only the events added since the last query.

Where the contract's own numbers are in an event (EarningsClaimed: what a claim
paid), the ledger checks its replay against them and keeps the event's figure;
`mismatches` lists any difference (none is expected: the pool maths are the
contract's, see `earnings`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .decode import creation_round
from .earnings import OrchestratorPools, pending
from .store import RoundSnapshot, StoredEvent

ZERO_ADDRESS = "0x" + "00" * 20


def _addr(value: Any) -> str | None:
    """An address argument, or None for the zero address."""
    text = str(value)
    return None if text.lower() == ZERO_ADDRESS else text


@dataclass
class StakeTrack:
    """An orchestrator's total delegated stake, and the stake that counts in a round
    (a change made in round r counts from round r + 1, as in the contract)."""

    amount: int = 0
    pinned: int = 0
    marker: int = 0  # from this round on, `amount` is the active stake

    def change(self, delta: int, round_: int) -> None:
        if self.marker <= round_:
            self.pinned = self.amount
            self.marker = round_ + 1
        self.amount += delta

    def active(self, round_: int) -> int:
        return self.amount if round_ >= self.marker else self.pinned


@dataclass
class RoundAgg:
    round: int
    block: int | None = None
    tx_hash: str | None = None
    initialized_by: str | None = None
    timestamp: int | None = None
    inflation: int | None = None
    mintable: int | None = None
    active_stake: int | None = None
    active_set_size: int | None = None
    minted: int = 0
    reward_callers: set[str] = field(default_factory=set)
    fees: int = 0
    tickets_redeemed: int = 0
    tickets_redeemed_face: int = 0
    tickets_won: int = 0
    tickets_won_face: int = 0
    snapshot: RoundSnapshot | None = None

    @property
    def initialized(self) -> bool:
        return self.block is not None


@dataclass(frozen=True)
class CutRow:
    round: int
    block: int
    tx_hash: str
    reward_cut: int
    fee_share: int


@dataclass
class Orchestrator:
    address: str
    reward_cut: int | None = None
    fee_share: int | None = None
    cuts: list[CutRow] = field(default_factory=list)
    intervals: list[list[int | None]] = field(default_factory=list)  # [activation round, deactivation round or None]
    rewards: dict[int, tuple[int, int | None]] = field(default_factory=dict)  # round -> (minted, reward cut)
    fees: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    tickets: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # round -> [n, face]
    own_rewards: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    own_fees: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    round_stakes: dict[int, int] = field(default_factory=dict)  # round -> its active stake in the round

    def active_in(self, round_: int) -> bool:
        return any(a is not None and a <= round_ and (d is None or round_ < d) for a, d in self.intervals)

    @property
    def activation_round(self) -> int | None:
        return self.intervals[-1][0] if self.intervals else None

    @property
    def deactivation_round(self) -> int | None:
        return self.intervals[-1][1] if self.intervals else None


@dataclass
class Lock:
    id: int
    delegate: str
    amount: int
    withdraw_round: int
    state: str = "unbonding"  # 'withdrawn' or 'rebonded' once used


@dataclass(frozen=True)
class Segment:
    """A delegator's stake with one orchestrator between two claims."""

    delegate: str
    bonded: int
    start_round: int  # the claim (or bond) it starts from
    end_round: int
    rewards: int
    fees: int


@dataclass
class Delegator:
    address: str
    delegate: str | None = None
    bonded: int = 0
    start_round: int | None = None
    last_claim: int = 0
    fees: int = 0
    fees_withdrawn: int = 0
    locks: dict[int, Lock] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Gateway:
    address: str
    deposit: int = 0
    reserve: int = 0
    deposit_funded: int = 0
    reserve_funded: int = 0
    paid: int = 0
    unlock_until: int | None = None
    rounds: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0]))  # [n, face, dep, res]
    payees: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # [n, face]
    last_round: int | None = None


class Ledger:
    def __init__(self) -> None:
        self.last_event_id = 0
        self.rounds: dict[int, RoundAgg] = {}
        self.orchestrators: dict[str, Orchestrator] = {}
        self.stakes: dict[str, StakeTrack] = defaultdict(StakeTrack)
        self.pools: dict[str, OrchestratorPools] = defaultdict(OrchestratorPools)
        self.delegators: dict[str, Delegator] = {}
        self.gateways: dict[str, Gateway] = {}
        self.service_uris: dict[str, str] = {}
        self.mismatches: list[str] = []
        self._handlers: Mapping[str, Callable[[StoredEvent, int], None]] = {
            "NewRound": self._new_round,
            "SetCurrentRewardTokens": self._reward_tokens,
            "SetCurrentRoundTotalActiveStake": self._active_stake,
            "TranscoderUpdate": self._transcoder_update,
            "TranscoderActivated": self._activated,
            "TranscoderDeactivated": self._deactivated,
            "Reward": self._reward,
            "FeesCredited": self._fees_credited,
            "Bond": self._bond,
            "Unbond": self._unbond,
            "Rebond": self._rebond,
            "WithdrawStake": self._withdraw_stake,
            "WithdrawFees": self._withdraw_fees,
            "EarningsClaimed": self._earnings_claimed,
            "TranscoderSlashed": self._slashed,
            "ServiceURIUpdate": self._service_uri,
            "DepositFunded": self._deposit_funded,
            "ReserveFunded": self._reserve_funded,
            "ReserveClaimed": self._reserve_claimed,
            "WinningTicketRedeemed": self._ticket_redeemed,
            "WinningTicketTransfer": self._ticket_transfer,
            "Unlock": self._unlock,
            "UnlockCancelled": self._unlock_cancelled,
            "Withdrawal": self._withdrawal,
        }

    # -- feeding ----------------------------------------------------------------

    def apply(self, event: StoredEvent) -> None:
        handler = self._handlers.get(event.name)
        if handler is not None:
            handler(event, event.round if event.round is not None else 0)
        self.last_event_id = max(self.last_event_id, event.id)

    def add_snapshot(self, snapshot: RoundSnapshot) -> None:
        self.round_agg(snapshot.round).snapshot = snapshot

    def round_agg(self, round_: int) -> RoundAgg:
        if round_ not in self.rounds:
            self.rounds[round_] = RoundAgg(round_)
        return self.rounds[round_]

    def orchestrator(self, address: str) -> Orchestrator:
        if address not in self.orchestrators:
            self.orchestrators[address] = Orchestrator(address)
        return self.orchestrators[address]

    def delegator(self, address: str) -> Delegator:
        if address not in self.delegators:
            self.delegators[address] = Delegator(address)
        return self.delegators[address]

    def gateway(self, address: str) -> Gateway:
        if address not in self.gateways:
            self.gateways[address] = Gateway(address)
        return self.gateways[address]

    # -- questions ----------------------------------------------------------------

    def is_registered(self, address: str) -> bool:
        d = self.delegators.get(address)
        return d is not None and d.delegate == address and d.bonded > 0

    def active_in(self, round_: int) -> list[str]:
        return [a for a, o in self.orchestrators.items() if o.active_in(round_)]

    def delegators_of(self, orchestrator: str) -> list[Delegator]:
        return [d for d in self.delegators.values() if d.delegate == orchestrator and d.bonded > 0]

    def pending_of(self, delegator: Delegator, round_: int) -> tuple[int, int]:
        """(stake, fees) as the contract's pendingStake/pendingFees would answer in `round_`."""
        if delegator.delegate is None:
            return delegator.bonded, delegator.fees
        p = pending(
            self.pools[delegator.delegate], bonded=delegator.bonded, fees=delegator.fees,
            last_claim=delegator.last_claim, round_=round_, is_self=delegator.delegate == delegator.address,
        )
        return p.stake, p.fees

    # -- rounds -------------------------------------------------------------------

    def _new_round(self, e: StoredEvent, r: int) -> None:
        round_ = int(e.fields["round"])
        agg = self.round_agg(round_)
        agg.block, agg.tx_hash, agg.initialized_by, agg.timestamp = e.block, e.tx_hash, e.tx_from, e.timestamp
        for address, o in self.orchestrators.items():  # the round's stakes are fixed from its start
            if o.active_in(round_):
                o.round_stakes[round_] = self.stakes[address].active(round_)

    def _reward_tokens(self, e: StoredEvent, r: int) -> None:
        agg = self.round_agg(r)
        agg.mintable = int(e.fields["currentMintableTokens"])
        agg.inflation = int(e.fields["currentInflation"])

    def _active_stake(self, e: StoredEvent, r: int) -> None:
        agg = self.round_agg(int(e.fields["round"]))
        agg.active_stake = int(e.fields["totalActiveStake"])
        agg.active_set_size = int(e.fields["activeSetSize"])

    # -- orchestrators --------------------------------------------------------------

    def _transcoder_update(self, e: StoredEvent, r: int) -> None:
        o = self.orchestrator(e.fields["transcoder"])
        o.reward_cut, o.fee_share = int(e.fields["rewardCut"]), int(e.fields["feeShare"])
        o.cuts.append(CutRow(r, e.block, e.tx_hash, o.reward_cut, o.fee_share))

    def _activated(self, e: StoredEvent, r: int) -> None:
        o = self.orchestrator(e.fields["transcoder"])
        start = int(e.fields["activationRound"])
        if o.intervals and o.intervals[-1][1] is None:
            return  # already in the pool: nothing starts
        if o.intervals and o.intervals[-1][1] == start:
            o.intervals[-1][1] = None  # evicted this round and back: one unbroken stretch
        else:
            o.intervals.append([start, None])

    def _deactivated(self, e: StoredEvent, r: int) -> None:
        o = self.orchestrator(e.fields["transcoder"])
        if o.intervals and o.intervals[-1][1] is None:
            o.intervals[-1][1] = int(e.fields["deactivationRound"])

    def _reward(self, e: StoredEvent, r: int) -> None:
        t = e.fields["transcoder"]
        amount = int(e.fields["amount"])
        o = self.orchestrator(t)
        stake = self.stakes[t].active(r)
        o.own_rewards[r] += self.pools[t].reward(r, amount, o.reward_cut or 0, stake)
        self.stakes[t].change(amount, r)
        o.rewards[r] = (amount, o.reward_cut)
        agg = self.round_agg(r)
        agg.minted += amount
        agg.reward_callers.add(t)

    def _fees_credited(self, e: StoredEvent, r: int) -> None:
        t = e.fields["transcoder"]
        amount, round_ = int(e.fields["fees"]), int(e.fields["round"])
        o = self.orchestrator(t)
        stake = self.stakes[t].active(round_)
        if stake > 0:
            o.own_fees[round_] += self.pools[t].fees(round_, amount, o.fee_share or 0, stake)
        o.fees[round_] += amount
        self.round_agg(round_).fees += amount

    def _slashed(self, e: StoredEvent, r: int) -> None:
        d = self.delegator(e.fields["transcoder"])
        penalty = int(e.fields["penalty"])
        d.bonded -= penalty
        if d.delegate is not None:
            self.stakes[d.delegate].change(-penalty, r)

    def _service_uri(self, e: StoredEvent, r: int) -> None:
        self.service_uris[e.fields["addr"]] = str(e.fields["serviceURI"])

    # -- delegators -------------------------------------------------------------------

    def _bond(self, e: StoredEvent, r: int) -> None:
        new, old = e.fields["newDelegate"], _addr(e.fields["oldDelegate"])
        d = self.delegator(e.fields["delegator"])
        added, bonded = int(e.fields["additionalAmount"]), int(e.fields["bondedAmount"])
        before = bonded - added
        moved = added
        if before > 0 and old is not None and old != new:
            self.stakes[old].change(-before, r)
            moved = bonded
        self.stakes[new].change(moved, r)
        self.pools[new].pin(r)
        if before == 0 or old != new:
            d.start_round = r + 1
        d.delegate, d.bonded, d.last_claim = new, bonded, r

    def _unbond(self, e: StoredEvent, r: int) -> None:
        t = e.fields["delegate"]
        d = self.delegator(e.fields["delegator"])
        amount = int(e.fields["amount"])
        lock_id = int(e.fields["unbondingLockId"])
        d.locks[lock_id] = Lock(lock_id, t, amount, int(e.fields["withdrawRound"]))
        d.bonded -= amount
        if d.bonded == 0:
            d.delegate, d.start_round = None, None
        self.stakes[t].change(-amount, r)

    def _rebond(self, e: StoredEvent, r: int) -> None:
        t = e.fields["delegate"]
        d = self.delegator(e.fields["delegator"])
        amount = int(e.fields["amount"])
        if d.bonded == 0:  # rebondFromUnbonded: a new delegation from the next round
            d.start_round, d.last_claim = r + 1, r
            self.pools[t].pin(r)
        d.delegate = t
        d.bonded += amount
        lock = d.locks.get(int(e.fields["unbondingLockId"]))
        if lock is not None:
            lock.state = "rebonded"
        self.stakes[t].change(amount, r)

    def _withdraw_stake(self, e: StoredEvent, r: int) -> None:
        lock = self.delegator(e.fields["delegator"]).locks.get(int(e.fields["unbondingLockId"]))
        if lock is not None:
            lock.state = "withdrawn"

    def _withdraw_fees(self, e: StoredEvent, r: int) -> None:
        d = self.delegator(e.fields["delegator"])
        amount = int(e.fields["amount"])
        d.fees -= amount
        d.fees_withdrawn += amount

    def _earnings_claimed(self, e: StoredEvent, r: int) -> None:
        t = e.fields["delegate"]
        d = self.delegator(e.fields["delegator"])
        rewards, fees = int(e.fields["rewards"]), int(e.fields["fees"])
        end = int(e.fields["endRound"])
        expected = pending(
            self.pools[t], bonded=d.bonded, fees=d.fees, last_claim=d.last_claim, round_=end, is_self=t == d.address
        )
        if (expected.stake - d.bonded, expected.fees - d.fees) != (rewards, fees):
            self.mismatches.append(
                f"claim by {d.address} in round {end} (block {e.block}): the event paid rewards {rewards}, fees {fees};"
                f" the replay expected {expected.stake - d.bonded}, {expected.fees - d.fees}"
            )
        d.segments.append(Segment(t, d.bonded, int(e.fields["startRound"]) - 1, end, rewards, fees))
        d.bonded += rewards
        d.fees += fees
        d.last_claim = end
        self.pools[t].pin(end)
        if t == d.address:
            self.pools[t].claimed_by_self()

    # -- gateways -------------------------------------------------------------------

    def _deposit_funded(self, e: StoredEvent, r: int) -> None:
        g = self.gateway(e.fields["sender"])
        amount = int(e.fields["amount"])
        g.deposit += amount
        g.deposit_funded += amount
        g.rounds[r][2] += amount
        g.unlock_until = None

    def _reserve_funded(self, e: StoredEvent, r: int) -> None:
        g = self.gateway(e.fields["reserveHolder"])
        amount = int(e.fields["amount"])
        g.reserve += amount
        g.reserve_funded += amount
        g.rounds[r][3] += amount
        g.unlock_until = None

    def _reserve_claimed(self, e: StoredEvent, r: int) -> None:
        self.gateway(e.fields["reserveHolder"]).reserve -= int(e.fields["amount"])

    def _ticket_redeemed(self, e: StoredEvent, r: int) -> None:
        sender, recipient = e.fields["sender"], e.fields["recipient"]
        face = int(e.fields["faceValue"])
        g = self.gateway(sender)
        g.deposit = max(0, g.deposit - face)
        g.rounds[r][0] += 1
        g.rounds[r][1] += face
        g.payees[recipient][0] += 1
        g.payees[recipient][1] += face
        g.last_round = r
        o = self.orchestrator(recipient)
        o.tickets[r][0] += 1
        o.tickets[r][1] += face
        agg = self.round_agg(r)
        agg.tickets_redeemed += 1
        agg.tickets_redeemed_face += face
        made = creation_round(str(e.fields.get("auxData", "0x"))) if "auxData" in e.fields else None
        won = self.round_agg(made if made is not None else r)
        won.tickets_won += 1
        won.tickets_won_face += face

    def _ticket_transfer(self, e: StoredEvent, r: int) -> None:
        self.gateway(e.fields["sender"]).paid += int(e.fields["amount"])

    def _unlock(self, e: StoredEvent, r: int) -> None:
        self.gateway(e.fields["sender"]).unlock_until = int(e.fields["endRound"])

    def _unlock_cancelled(self, e: StoredEvent, r: int) -> None:
        self.gateway(e.fields["sender"]).unlock_until = None

    def _withdrawal(self, e: StoredEvent, r: int) -> None:
        g = self.gateway(e.fields["sender"])
        g.deposit = g.reserve = 0
        g.unlock_until = None
