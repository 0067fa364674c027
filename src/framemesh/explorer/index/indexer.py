"""`Indexer`: the protocol contracts' events into the explorer's SQLite file.

    indexer = Indexer(protocol, "explorer.sqlite")
    indexer.sync()                     # catch up with the head, in block-range batches
    await indexer.run(interval=2.0)    # follow the head until cancelled
    indexer.status()                   # IndexStatus (same as ChainHistory.status())

Each batch is one ``eth_getLogs`` over the five contracts for a block range, plus a
header per block that has events (time, hash), the sender of each transaction (who
initialized a round), and at each NewRound a few reads at that block: the round
clock, the token supply and the bonded stake (historical state: py-evm and anvil
keep it; a pruned node's refusal leaves supply and bonded unknown for that round).
A batch's rows and the cursor are written in one transaction, so a restart resumes
after the last whole batch and never duplicates a row.

Re-orgs: before each batch the hash of the last indexed block is compared with the
chain's; on a mismatch the index walks back through the last `reorg_depth` blocks
it recorded to one the chain still has, deletes everything after it and indexes
again from there. A re-org deeper than that re-indexes from the start block.
`confirmations` keeps the index that many blocks behind the head instead, for
chains where that is cheaper than rolling back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from framemesh.chain.backend import BlockHeader
from framemesh.chain.errors import ChainError, ChainUnavailable
from framemesh.protocol.network import Protocol
from framemesh.wire.explorer import IndexStatus

from .clock import RoundClock
from .decode import INDEXED_CONTRACTS, EventDecoder
from .errors import IndexConflict
from .status import index_status
from .store import Batch, BlockRow, Identity, IndexStore, NewEvent, RoundSnapshot

log = logging.getLogger(__name__)


class Indexer:
    def __init__(
        self,
        protocol: Protocol,
        path: str | os.PathLike[str],
        *,
        batch_blocks: int = 2_000,
        start_block: int | None = None,
        confirmations: int = 0,
        reorg_depth: int = 64,
        lag_blocks: int = 50,
        stall_seconds: float = 60.0,
    ) -> None:
        """`start_block`: the first block to index on a new file (default: the
        deployment's block). Raises `IndexMismatch` if the file indexes another chain
        or deployment."""
        if batch_blocks < 1:
            raise ValueError(f"batch_blocks must be at least 1, got {batch_blocks}")
        self.protocol = protocol
        self.chain = protocol.chain
        self.batch_blocks = batch_blocks
        self._span = batch_blocks  # the batch size in use: smaller while an endpoint refuses big ranges
        self.confirmations = confirmations
        self.reorg_depth = reorg_depth
        self.lag_blocks = lag_blocks
        self.stall_seconds = stall_seconds
        contracts = {name: getattr(protocol, attr) for name, attr in INDEXED_CONTRACTS.items()}
        self._decoder = EventDecoder(contracts)
        first = protocol.deployment.block if start_block is None else start_block
        identity = Identity(self.chain.chain_id, {n: str(c.address) for n, c in contracts.items()}, max(0, first))
        self.store = IndexStore.create(path, identity)

    # -- indexing -------------------------------------------------------------

    def observe_head(self) -> BlockHeader:
        """Read the chain head and record it (what `status()` measures the lag against)."""
        head = self.chain.block_header("latest")
        self.store.set_head(head.number, head.timestamp, time.time())
        return head

    def step(self, to_block: int | None = None) -> int:
        """Index one batch (at most `batch_blocks` blocks, up to `to_block` or the
        head less `confirmations`); returns the last indexed block."""
        head = self.observe_head()
        self._check_reorg()
        target = head.number - self.confirmations
        if to_block is not None:
            target = min(target, to_block)
        meta = self.store.meta()
        if meta.cursor >= target:
            return meta.cursor
        start = meta.cursor + 1
        end = min(target, start + self._span - 1)
        try:
            batch = self._read(start, end, meta.clock)
        except ChainUnavailable:
            raise
        except ChainError as exc:
            if end == start:
                raise
            # Public endpoints cap eth_getLogs (a block range, a result count): halve and go on.
            self._span = max(1, (end - start + 1) // 2)
            log.info("explorer indexer: blocks %d-%d refused (%s); batches of %d blocks now", start, end, exc, self._span)
            return meta.cursor
        self.store.write_batch(batch)
        self._span = min(self.batch_blocks, self._span * 2)
        return end

    def sync(self, to_block: int | None = None) -> int:
        """Index batches until `to_block` (default: the head at the call); returns the last indexed block."""
        target = to_block if to_block is not None else self.chain.block_number - self.confirmations
        while True:
            before, span = self.store.meta().cursor, self._span
            done = self.step(target)
            if done >= target or (done == before and self._span == span):  # there, or nothing more to index
                return done

    async def run(self, interval: float = 2.0, on_update: Callable[[IndexStatus], Any] | None = None) -> None:
        """Follow the head: sync, sleep `interval` seconds, again, until cancelled.
        Chain errors (and a file busy with another writer) are logged and retried on
        the next round, not raised.
        `on_update(status)` is called after each sync that indexed something."""
        while True:
            try:
                before = self.store.meta().cursor
                done = await asyncio.to_thread(self.sync)
                if on_update is not None and done != before:
                    on_update(self.status())
            except (ChainError, IndexConflict, sqlite3.OperationalError) as exc:
                log.warning("explorer indexer: %s (retrying in %g s)", exc, interval)
            await asyncio.sleep(interval)

    def status(self) -> IndexStatus:
        """From the file, no chain call (call `observe_head()` first for a fresh head)."""
        rounds = self.store.rounds()
        return index_status(
            self.store.meta(), rounds[-1].round if rounds else None, now=time.time(),
            lag_blocks=self.lag_blocks, stall_seconds=self.stall_seconds,
        )

    def close(self) -> None:
        self.store.close()

    # -- one batch --------------------------------------------------------------

    def _read(self, start: int, end: int, clock: RoundClock | None) -> Batch:
        logs = self.chain.logs(self._decoder.addresses, start, end)
        headers: dict[int, BlockHeader] = {}
        senders: dict[str, str] = {}
        events: list[NewEvent] = []
        rounds: list[RoundSnapshot] = []
        if clock is None:
            clock = self._read_clock("latest")
        for raw in logs:
            decoded = self._decoder.decode(raw)
            if decoded is None:
                continue
            block = int(raw["blockNumber"])
            tx = "0x" + bytes(raw["transactionHash"]).hex()
            if block not in headers:
                headers[block] = self.chain.block_header(block)
            if tx not in senders:
                senders[tx] = self.chain.transaction_sender(tx)
            round_ = clock.round_of(block) if clock is not None else None
            if decoded.name == "NewRound" and decoded.contract == "RoundsManager":
                round_ = int(decoded.fields["round"])
                clock = self._read_clock(block) or _carried(clock, round_, block)
                rounds.append(self._snapshot(round_, clock, block, tx, senders[tx], decoded.fields))
            events.append(
                NewEvent(block, int(raw["logIndex"]), tx, senders[tx], decoded.contract, decoded.name, round_, decoded.fields)
            )
        end_header = headers.get(end) or self.chain.block_header(end)
        blocks = [BlockRow(h.number, h.hash, h.timestamp) for h in headers.values()]
        return Batch(start, end, BlockRow(end_header.number, end_header.hash, end_header.timestamp), events, rounds, blocks, clock)

    def _read_clock(self, block: int | str) -> RoundClock | None:
        rm = self.protocol.rounds.functions
        try:
            length = int(self.chain.call(rm.roundLength(), block=block))  # type: ignore[arg-type]
            update_round = int(self.chain.call(rm.lastRoundLengthUpdateRound(), block=block))  # type: ignore[arg-type]
            update_block = int(self.chain.call(rm.lastRoundLengthUpdateStartBlock(), block=block))  # type: ignore[arg-type]
        except ChainError as exc:
            log.info("explorer indexer: no round clock at block %s (%s)", block, exc)
            return None
        return RoundClock(length, update_round, update_block)

    def _snapshot(
        self, round_: int, clock: RoundClock, block: int, tx: str, sender: str, fields: dict[str, Any]
    ) -> RoundSnapshot:
        supply = self._historical(self.protocol.token.functions.totalSupply(), block)
        bonded = self._historical(self.protocol.bonding.functions.getTotalBonded(), block)
        return RoundSnapshot(
            round=round_, start_block=clock.start_of(round_), length=clock.length, block=block, tx_hash=tx,
            initialized_by=sender, block_hash=fields.get("blockHash"), total_supply=supply, total_bonded=bonded,
        )

    def _historical(self, fn: Any, block: int) -> int | None:
        try:
            return int(self.chain.call(fn, block=block))
        except ChainError:  # a pruned node: the round's figure stays unknown
            return None

    # -- re-orgs ----------------------------------------------------------------

    def _check_reorg(self) -> None:
        recent = self.store.recent_blocks(self.reorg_depth)
        for i, row in enumerate(recent):
            try:
                same = self.chain.block_header(row.number).hash == row.hash
            except ChainError:  # the chain is shorter now
                same = False
            if same:
                if i:
                    log.warning("explorer indexer: re-org, blocks after %d were replaced: re-indexing from %d", row.number, row.number + 1)
                    self.store.rollback_to(row.number)
                return
        if recent:
            start = self.store.meta().start_block
            log.warning("explorer indexer: re-org deeper than %d recorded blocks, re-indexing from %d", len(recent), start)
            self.store.rollback_to(start - 1)


def _carried(clock: RoundClock | None, round_: int, block: int) -> RoundClock:
    """The clock after a NewRound when its block's state cannot be read: same length, anchored at the round's start."""
    if clock is None:
        raise ChainError(f"cannot read the RoundsManager's round length at block {block}: is the chain reachable?")
    return RoundClock(clock.length, round_, clock.start_of(round_))
