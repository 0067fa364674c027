"""`ChainHistory`: the explorer's read queries over the index file. No chain access.

    history = ChainHistory("explorer.sqlite")
    history.status()                       # IndexStatus
    history.rounds(limit=50)               # [RoundSummary], newest first
    history.orchestrator("0xabc...")       # OrchestratorDetail, or UnknownAddress (404)

Each query first reads, in one read transaction, the events the indexer added since
the last query and feeds them to an in-memory `Ledger`; the answer is built from
the ledger. A re-org rollback (the file's generation moves) rebuilds the ledger from
the start. Safe to share between threads.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from eth_utils.address import is_address, to_checksum_address

from framemesh.wire.explorer import (
    ChainEvent,
    CutChange,
    DelegatorDetail,
    DelegatorRound,
    DelegatorStake,
    GatewayDetail,
    GatewayPayee,
    GatewayRound,
    GatewaySummary,
    IndexStatus,
    OrchestratorDetail,
    OrchestratorRound,
    OrchestratorSummary,
    RoundSeries,
    RoundSummary,
    UnbondingLock,
)

from .earnings import PERC_DIVISOR, split_segment
from .errors import InvalidAddress, UnknownAddress, UnknownRound
from .ledger import Delegator, Gateway, Ledger, Orchestrator, RoundAgg
from .status import index_status
from .store import IndexStore, Meta

#: rounds in the "recent" window of reward-call and fee figures
RECENT_ROUNDS = 30
INFLATION_DIVISOR = 10**9
TOKEN = 10**18


class _View:
    """The ledger and the file's position, for one query; figures several rows share are
    computed once."""

    def __init__(self, ledger: Ledger, meta: Meta) -> None:
        self.ledger = ledger
        self.meta = meta

    @cached_property
    def current_round(self) -> int | None:
        """The round of the last indexed block."""
        clock = self.meta.clock
        return clock.round_of(self.meta.cursor) if clock is not None else None

    @cached_property
    def rounds(self) -> list[RoundAgg]:
        """Initialized rounds, oldest first."""
        return sorted((a for a in self.ledger.rounds.values() if a.initialized), key=lambda a: a.round)

    @cached_property
    def complete_rounds(self) -> set[int]:
        return {a.round for a in self.rounds if self.complete(a)}

    @cached_property
    def registered_stake(self) -> int:
        """Total stake of the orchestrators registered now."""
        ledger = self.ledger
        return sum(ledger.stakes[a].amount for a, o in ledger.orchestrators.items() if o.cuts and ledger.is_registered(a))

    def start_and_length(self, agg: RoundAgg) -> tuple[int, int]:
        if agg.snapshot is not None:
            return agg.snapshot.start_block, agg.snapshot.length
        clock = self.meta.clock
        assert clock is not None  # an initialized round was indexed with a clock
        return clock.start_of(agg.round), clock.length

    def complete(self, agg: RoundAgg) -> bool:
        start, length = self.start_and_length(agg)
        return start + length - 1 <= self.meta.cursor


class ChainHistory:
    """Read-only queries over an index file the `Indexer` writes (possibly at the same time)."""

    def __init__(self, path: str | os.PathLike[str], *, lag_blocks: int = 50, stall_seconds: float = 60.0) -> None:
        """`lag_blocks`: more blocks behind the head than this is lagging; `stall_seconds`:
        an indexer that has not looked at the head for this long is lagging too.
        Raises `IndexNotFound` if the file does not exist."""
        self.store = IndexStore.open(path)
        self.lag_blocks = lag_blocks
        self.stall_seconds = stall_seconds
        self._lock = threading.RLock()
        self._ledger = Ledger()
        self._generation: int | None = None

    def close(self) -> None:
        self.store.close()

    @contextmanager
    def _view(self) -> Iterator[_View]:
        """The ledger brought up to the file, held for one query (the lock keeps
        another thread from feeding it while a model is built from it)."""
        with self._lock:
            with self.store.snapshot():
                meta = self.store.meta()
                if meta.generation != self._generation:
                    self._ledger = Ledger()
                    self._generation = meta.generation
                for event in self.store.events_after(self._ledger.last_event_id):
                    self._ledger.apply(event)
                for snapshot in self.store.rounds():
                    self._ledger.add_snapshot(snapshot)
            yield _View(self._ledger, meta)

    # -- status and rounds ----------------------------------------------------------

    def status(self) -> IndexStatus:
        with self._view() as view:
            rounds = view.rounds
            return index_status(
                view.meta, rounds[-1].round if rounds else None, now=time.time(),
                lag_blocks=self.lag_blocks, stall_seconds=self.stall_seconds,
            )

    def rounds(self, limit: int = 50, before: int | None = None) -> list[RoundSummary]:
        """Initialized rounds, newest first; `before`: only rounds below that number (paging)."""
        with self._view() as view:
            rounds = [a for a in reversed(view.rounds) if before is None or a.round < before]
            return [_round_summary(view, a) for a in rounds[: max(0, limit)]]

    def round(self, number: int) -> RoundSummary:
        """One round; `UnknownRound` if it was not initialized (or not indexed yet)."""
        with self._view() as view:
            agg = view.ledger.rounds.get(number)
            if agg is None or not agg.initialized:
                raise UnknownRound(number)
            return _round_summary(view, agg)

    def series(self, limit: int | None = None) -> RoundSeries:
        """Per-round chart columns, oldest first (the last `limit` rounds)."""
        with self._view() as view:
            rows = [_round_summary(view, a) for a in view.rounds]
            if limit is not None:
                rows = rows[-limit:] if limit > 0 else []
            return RoundSeries(
                rounds=[r.round for r in rows],
                timestamps=[r.initialized_at for r in rows],
                inflation_rate=[r.inflation_rate for r in rows],
                bonding_rate=[r.bonding_rate for r in rows],
                total_supply=[r.total_supply / TOKEN if r.total_supply is not None else None for r in rows],
                minted=[r.minted / TOKEN for r in rows],
                fees=[r.fees / TOKEN for r in rows],
                tickets_won=[r.tickets_won for r in rows],
                tickets_redeemed=[r.tickets_redeemed for r in rows],
                reward_calls=[r.reward_calls for r in rows],
                reward_calls_missed=[r.reward_calls_missed for r in rows],
            )

    # -- orchestrators ----------------------------------------------------------------

    def orchestrators(self) -> list[OrchestratorSummary]:
        """Every address that ever registered as an orchestrator, highest stake first."""
        with self._view() as view:
            rows = [_orchestrator_summary(view, o) for o in view.ledger.orchestrators.values() if o.cuts]
            return sorted(rows, key=lambda r: (-r.stake, r.address))

    def orchestrator(self, address: str) -> OrchestratorDetail:
        """Raises `UnknownAddress` if it never registered, `InvalidAddress` if it is not an address."""
        who = _checksum(address)
        with self._view() as view:
            o = view.ledger.orchestrators.get(who)
            if o is None or not o.cuts:
                raise UnknownAddress("orchestrator", who)
            summary = _orchestrator_summary(view, o)
            return OrchestratorDetail(
                **summary.model_dump(),
                cut_history=[
                    CutChange(
                        round=c.round, block=c.block, tx_hash=c.tx_hash, reward_cut=c.reward_cut, fee_share=c.fee_share,
                        reward_cut_fraction=c.reward_cut / PERC_DIVISOR, fee_share_fraction=c.fee_share / PERC_DIVISOR,
                    )
                    for c in reversed(o.cuts)
                ],
                rounds=_orchestrator_rounds(view, o),
                delegator_list=[
                    DelegatorStake(address=d.address, bonded=d.bonded, start_round=d.start_round)
                    for d in sorted(view.ledger.delegators_of(who), key=lambda d: (-d.bonded, d.address))
                ],
                recent_window=RECENT_ROUNDS,
            )

    # -- delegators ---------------------------------------------------------------------

    def delegator(self, address: str) -> DelegatorDetail:
        """Raises `UnknownAddress` if it never bonded, `InvalidAddress` if it is not an address."""
        who = _checksum(address)
        with self._view() as view:
            d = view.ledger.delegators.get(who)
            if d is None:
                raise UnknownAddress("delegator", who)
            return _delegator_detail(view, d)

    # -- gateways ---------------------------------------------------------------------------

    def gateways(self) -> list[GatewaySummary]:
        """Every address that funded a deposit or reserve, largest deposit first."""
        with self._view() as view:
            rows = [_gateway_summary(g) for g in view.ledger.gateways.values()]
            return sorted(rows, key=lambda g: (-g.deposit, g.address))

    def gateway(self, address: str) -> GatewayDetail:
        """Raises `UnknownAddress` if no ticket of it was redeemed and it never funded
        a deposit or reserve; `InvalidAddress` if it is not an address."""
        who = _checksum(address)
        with self._view() as view:
            g = view.ledger.gateways.get(who)
            if g is None:
                raise UnknownAddress("gateway", who)
            return GatewayDetail(
                **_gateway_summary(g).model_dump(),
                rounds=[
                    GatewayRound(round=r, tickets=v[0], face_value=v[1], deposit_funded=v[2], reserve_funded=v[3])
                    for r, v in sorted(g.rounds.items(), reverse=True)
                ],
                orchestrators=[
                    GatewayPayee(orchestrator=a, tickets=v[0], face_value=v[1])
                    for a, v in sorted(g.payees.items(), key=lambda kv: (-kv[1][1], kv[0]))
                ],
            )

    # -- the feed -------------------------------------------------------------------------------

    def events(self, limit: int = 50, address: str | None = None, before: tuple[int, int] | None = None) -> list[ChainEvent]:
        """Recent events, newest first; `address`: only events naming it (any address
        argument or the sender); `before`: (block, log_index) to page from."""
        who = _checksum(address) if address is not None else None
        rows = self.store.recent_events(max(0, limit), who, before)
        return [
            ChainEvent(
                name=e.name, contract=e.contract, block=e.block, log_index=e.log_index, round=e.round,
                timestamp=e.timestamp, tx_hash=e.tx_hash, tx_from=e.tx_from, fields=dict(e.fields),
            )
            for e in rows
        ]


# -- building the models (pure, from a view) -------------------------------------------------


def _checksum(address: str) -> str:
    if not is_address(address):
        raise InvalidAddress(address)
    return to_checksum_address(address)


def _round_summary(view: _View, agg: RoundAgg) -> RoundSummary:
    start, length = view.start_and_length(agg)
    active = set(view.ledger.active_in(agg.round))
    snap = agg.snapshot
    supply = snap.total_supply if snap else None
    bonded = snap.total_bonded if snap else None
    assert agg.block is not None and agg.tx_hash is not None
    return RoundSummary(
        round=agg.round,
        start_block=start,
        length=length,
        complete=view.complete(agg),
        initialized_block=agg.block,
        initialized_by=agg.initialized_by or "",
        initialized_tx=agg.tx_hash,
        initialized_at=agg.timestamp,
        inflation=agg.inflation,
        inflation_rate=agg.inflation / INFLATION_DIVISOR if agg.inflation is not None else None,
        mintable=agg.mintable,
        minted=agg.minted,
        active_orchestrators=len(active),
        active_stake=agg.active_stake,
        reward_calls=len(agg.reward_callers),
        reward_calls_missed=len(active - agg.reward_callers),
        fees=agg.fees,
        tickets_redeemed=agg.tickets_redeemed,
        tickets_redeemed_face_value=agg.tickets_redeemed_face,
        tickets_won=agg.tickets_won,
        tickets_won_face_value=agg.tickets_won_face,
        total_supply=supply,
        total_bonded=bonded,
        bonding_rate=bonded / supply if supply and bonded is not None else None,
    )


def _reward_record(view: _View, o: Orchestrator, rounds: list[RoundAgg]) -> tuple[int, int]:
    """(reward calls made, missed) over `rounds`; a round still running counts as made
    if it was made, never as missed."""
    made = sum(1 for a in rounds if a.round in o.rewards)
    complete = view.complete_rounds
    missed = sum(1 for a in rounds if a.round not in o.rewards and a.round in complete and o.active_in(a.round))
    return made, missed


def _orchestrator_summary(view: _View, o: Orchestrator) -> OrchestratorSummary:
    ledger = view.ledger
    total_stake = view.registered_stake
    stake = ledger.stakes[o.address].amount if o.address in ledger.stakes else 0
    rounds = view.rounds
    recent = rounds[-RECENT_ROUNDS:]
    recent_numbers = {a.round for a in recent}
    last_complete = max(view.complete_rounds, default=None)
    fees_recent = sum(v for r, v in o.fees.items() if r in recent_numbers)
    network_recent = sum(a.fees for a in recent)
    stake_share = stake / total_stake if total_stake else 0.0
    network_share = fees_recent / network_recent if network_recent else None
    made_recent, missed_recent = _reward_record(view, o, recent)
    made, missed = _reward_record(view, o, rounds)
    current = view.current_round
    changes = [b for a, b in zip(o.cuts, o.cuts[1:]) if (a.reward_cut, a.fee_share) != (b.reward_cut, b.fee_share)]
    return OrchestratorSummary(
        address=o.address,
        service_uri=ledger.service_uris.get(o.address),
        registered=ledger.is_registered(o.address),
        active=current is not None and o.active_in(current),
        stake=stake,
        stake_share=stake_share,
        reward_cut=o.reward_cut,
        fee_share=o.fee_share,
        reward_cut_fraction=o.reward_cut / PERC_DIVISOR if o.reward_cut is not None else None,
        fee_share_fraction=o.fee_share / PERC_DIVISOR if o.fee_share is not None else None,
        fees_total=sum(o.fees.values()),
        fees_last_round=o.fees.get(last_complete, 0) if last_complete is not None else 0,
        fees_recent=fees_recent,
        network_fee_share=network_share,
        fee_vs_stake=network_share / stake_share if network_share is not None and stake_share > 0 else None,
        reward_calls_recent=made_recent,
        reward_calls_missed_recent=missed_recent,
        reward_calls=made,
        reward_calls_missed=missed,
        last_reward_round=max(o.rewards) if o.rewards else None,
        last_cut_change_round=changes[-1].round if changes else None,
        activation_round=o.activation_round,
        deactivation_round=o.deactivation_round,
        delegators=len(ledger.delegators_of(o.address)),
        tickets_redeemed=sum(v[0] for v in o.tickets.values()),
        tickets_face_value=sum(v[1] for v in o.tickets.values()),
    )


def _orchestrator_rounds(view: _View, o: Orchestrator) -> list[OrchestratorRound]:
    first = min([c.round for c in o.cuts] + [a for a, _ in o.intervals if a is not None])
    out = []
    for agg in reversed(view.rounds):
        r = agg.round
        if r < first:
            break
        minted, cut = o.rewards.get(r, (0, None))
        tickets = o.tickets.get(r, [0, 0])
        active = o.active_in(r)
        out.append(
            OrchestratorRound(
                round=r, active=active, stake=o.round_stakes.get(r) if active else None, reward_called=r in o.rewards,
                reward_missed=active and r not in o.rewards and r in view.complete_rounds,
                reward=minted, reward_cut=cut, fees=o.fees.get(r, 0), tickets=tickets[0], tickets_face_value=tickets[1],
            )
        )
    return out


def _delegator_detail(view: _View, d: Delegator) -> DelegatorDetail:
    ledger = view.ledger
    current = view.current_round or 0
    stake, fees = ledger.pending_of(d, current)
    earnings: list[DelegatorRound] = []
    for seg in d.segments:
        own = ledger.orchestrators.get(seg.delegate) if seg.delegate == d.address else None
        rows = split_segment(
            ledger.pools[seg.delegate], bonded=seg.bonded, start_round=seg.start_round, end_round=seg.end_round,
            total_rewards=seg.rewards, total_fees=seg.fees,
            own_rewards=dict(own.own_rewards) if own else None, own_fees=dict(own.own_fees) if own else None,
        )
        earnings.extend(DelegatorRound(round=e.round, delegate=seg.delegate, stake=e.stake, rewards=e.rewards, fees=e.fees) for e in rows)
    if d.delegate is not None and current > d.last_claim:
        own = ledger.orchestrators.get(d.delegate) if d.delegate == d.address else None
        rows = split_segment(
            ledger.pools[d.delegate], bonded=d.bonded, start_round=d.last_claim, end_round=current,
            total_rewards=stake - d.bonded, total_fees=fees - d.fees,
            own_rewards=dict(own.own_rewards) if own else None, own_fees=dict(own.own_fees) if own else None,
        )
        earnings.extend(DelegatorRound(round=e.round, delegate=d.delegate, stake=e.stake, rewards=e.rewards, fees=e.fees) for e in rows)
    earnings = [e for e in earnings if e.rewards or e.fees]
    return DelegatorDetail(
        address=d.address,
        delegate=d.delegate,
        bonded=d.bonded,
        stake=stake,
        start_round=d.start_round,
        last_claim_round=d.last_claim if d.delegate is not None or d.segments else None,
        unclaimed_rewards=stake - d.bonded,
        unclaimed_fees=fees - d.fees,
        pending_fees=fees,
        rewards_total=sum(e.rewards for e in earnings),
        fees_total=sum(e.fees for e in earnings),
        fees_withdrawn=d.fees_withdrawn,
        is_orchestrator=ledger.is_registered(d.address),
        unbonding=[
            UnbondingLock(
                id=lock.id, delegate=lock.delegate, amount=lock.amount, withdraw_round=lock.withdraw_round,
                state="withdrawable" if lock.state == "unbonding" and current >= lock.withdraw_round else lock.state,
            )
            for lock in sorted(d.locks.values(), key=lambda x: x.id)
        ],
        earnings=sorted(earnings, key=lambda e: e.round, reverse=True),
    )


def _gateway_summary(g: Gateway) -> GatewaySummary:
    return GatewaySummary(
        address=g.address,
        deposit=g.deposit,
        reserve=g.reserve,
        deposit_funded=g.deposit_funded,
        reserve_funded=g.reserve_funded,
        tickets_redeemed=sum(v[0] for v in g.rounds.values()),
        face_value=sum(v[1] for v in g.rounds.values()),
        paid=g.paid,
        unlocking_until_round=g.unlock_until,
        last_active_round=g.last_round,
    )
