"""The index file: SQLite, one writer (the `Indexer`), any number of readers.

Tables:

- ``events``: every protocol event, decoded (name, contract, block, log index, round,
  tx hash and sender, arguments as JSON with exact integers); the truth everything
  else is computed from.
- ``event_addresses``: which addresses an event names (its address arguments and the
  sender), for an address's feed.
- ``rounds``: per initialized round, what the NewRound event does not say and the
  indexer read at its block: start block, length, who initialized it, supply and
  bonded stake.
- ``blocks``: number, hash and time of the blocks the index has touched (for event
  times, and the hashes a re-org check compares).
- ``meta``: the cursor (last indexed block), the round clock, the chain and
  deployment the file belongs to, the head last seen, and ``generation``, which a
  re-org rollback bumps so readers drop what they computed from the old rows.

A batch (its events, rounds, blocks and the new cursor) is one transaction: a crash
leaves the file at the previous batch, and the next run starts right after it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .clock import RoundClock
from .errors import IndexConflict, IndexMismatch, IndexNotFound

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    tx_from TEXT,
    contract TEXT NOT NULL,
    name TEXT NOT NULL,
    round INTEGER,
    fields TEXT NOT NULL,
    UNIQUE (block, log_index)
);
CREATE INDEX IF NOT EXISTS events_by_name ON events (name, round);
CREATE TABLE IF NOT EXISTS event_addresses (
    address TEXT NOT NULL,
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    PRIMARY KEY (address, event_id)
);
CREATE TABLE IF NOT EXISTS rounds (
    round INTEGER PRIMARY KEY,
    start_block INTEGER NOT NULL,
    length INTEGER NOT NULL,
    block INTEGER NOT NULL,
    tx_hash TEXT NOT NULL,
    initialized_by TEXT,
    block_hash TEXT,
    total_supply TEXT,
    total_bonded TEXT
);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, timestamp INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class NewEvent:
    """An event as the indexer decoded it, before it has a row id."""

    block: int
    log_index: int
    tx_hash: str
    tx_from: str | None
    contract: str
    name: str
    round: int | None
    fields: Mapping[str, Any]

    def addresses(self) -> set[str]:
        named = {v.lower() for v in self.fields.values() if _is_address(v)}
        if self.tx_from:
            named.add(self.tx_from.lower())
        named.discard("0x" + "00" * 20)
        return named


@dataclass(frozen=True)
class StoredEvent(NewEvent):
    id: int = 0
    timestamp: int | None = None


@dataclass(frozen=True)
class RoundSnapshot:
    round: int
    start_block: int
    length: int
    block: int
    tx_hash: str
    initialized_by: str | None
    block_hash: str | None
    total_supply: int | None
    total_bonded: int | None


@dataclass(frozen=True)
class BlockRow:
    number: int
    hash: str
    timestamp: int


@dataclass(frozen=True)
class Batch:
    """Blocks `from_block`..`to_block`, indexed: written in one transaction."""

    from_block: int
    to_block: int
    to_header: BlockRow
    events: Sequence[NewEvent] = ()
    rounds: Sequence[RoundSnapshot] = ()
    blocks: Sequence[BlockRow] = ()
    clock: RoundClock | None = None


@dataclass(frozen=True)
class Identity:
    """What chain and deployment a file indexes."""

    chain_id: int
    contracts: Mapping[str, str] = field(default_factory=dict)  # name -> address
    start_block: int = 0


@dataclass(frozen=True)
class Meta:
    chain_id: int
    start_block: int
    cursor: int  # last indexed block (start_block - 1 before the first batch)
    cursor_timestamp: int | None
    clock: RoundClock | None
    head_block: int | None
    head_timestamp: int | None
    head_seen_at: float | None
    generation: int


class IndexStore:
    """The SQLite file. `create` it once (the indexer), `open` it to read (pages)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()  # one connection, shared by a server's threads

    @classmethod
    def create(cls, path: str | os.PathLike[str], identity: Identity) -> IndexStore:
        """Open `path` for writing, creating it if needed; a file made for another
        chain or deployment raises `IndexMismatch`."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        store = cls(_connect(target), target)
        store._conn.executescript(_SCHEMA)
        store._claim(identity)
        return store

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> IndexStore:
        """Open an existing file to read; raises `IndexNotFound` if there is none."""
        target = Path(path)
        if not target.is_file():
            raise IndexNotFound(str(target))
        return cls(_connect(target), target)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- identity -------------------------------------------------------------

    def _claim(self, identity: Identity) -> None:
        meta = self._meta_raw()
        contracts = {k: v.lower() for k, v in identity.contracts.items()}
        if not meta:
            with self._write() as conn:
                _put(conn, "schema", SCHEMA_VERSION)
                _put(conn, "chain_id", identity.chain_id)
                _put(conn, "contracts", contracts)
                _put(conn, "start_block", identity.start_block)
                _put(conn, "cursor", identity.start_block - 1)
                _put(conn, "generation", 0)
            return
        if int(meta["schema"]) != SCHEMA_VERSION:
            raise IndexMismatch(
                f"{self.path} has index schema {meta['schema']}, this version writes {SCHEMA_VERSION}: delete it to re-index"
            )
        if int(meta["chain_id"]) != identity.chain_id or meta["contracts"] != contracts:
            raise IndexMismatch(
                f"{self.path} indexes chain {meta['chain_id']} with contracts {meta['contracts']}, not chain"
                f" {identity.chain_id} with {contracts}: use another file, or delete this one to re-index"
            )

    # -- writing --------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def write_batch(self, batch: Batch) -> None:
        """Append a batch and move the cursor to its end, atomically. A batch that
        does not start right after the cursor is refused (it would leave a gap or
        a duplicate)."""
        with self._write() as conn:
            cursor = int(_get(conn, "cursor"))
            if batch.from_block != cursor + 1:
                raise IndexConflict(
                    f"a batch from block {batch.from_block} does not follow the index, which is at block {cursor}:"
                    " is another indexer writing this file? Run one per file"
                )
            for event in batch.events:
                row = conn.execute(
                    "INSERT INTO events (block, log_index, tx_hash, tx_from, contract, name, round, fields)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (event.block, event.log_index, event.tx_hash, event.tx_from, event.contract, event.name,
                     event.round, json.dumps(dict(event.fields))),
                )
                conn.executemany(
                    "INSERT INTO event_addresses (address, event_id) VALUES (?, ?)",
                    [(a, row.lastrowid) for a in sorted(event.addresses())],
                )
            conn.executemany(
                "INSERT OR REPLACE INTO rounds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.round, r.start_block, r.length, r.block, r.tx_hash, r.initialized_by, r.block_hash,
                  _opt_str(r.total_supply), _opt_str(r.total_bonded)) for r in batch.rounds],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO blocks VALUES (?, ?, ?)",
                [(b.number, b.hash, b.timestamp) for b in (*batch.blocks, batch.to_header)],
            )
            _put(conn, "cursor", batch.to_block)
            _put(conn, "cursor_timestamp", batch.to_header.timestamp)
            if batch.clock is not None:
                _put(conn, "clock", batch.clock.to_json())

    def set_head(self, number: int, timestamp: int, seen_at: float) -> None:
        with self._write() as conn:
            _put(conn, "head_block", number)
            _put(conn, "head_timestamp", timestamp)
            _put(conn, "head_seen_at", seen_at)

    def rollback_to(self, block: int) -> None:
        """Forget everything after `block` (a re-org replaced those blocks) and bump the generation."""
        with self._write() as conn:
            conn.execute("DELETE FROM event_addresses WHERE event_id IN (SELECT id FROM events WHERE block > ?)", (block,))
            conn.execute("DELETE FROM events WHERE block > ?", (block,))
            conn.execute("DELETE FROM rounds WHERE block > ?", (block,))
            conn.execute("DELETE FROM blocks WHERE number > ?", (block,))
            ts = conn.execute("SELECT timestamp FROM blocks WHERE number = ?", (block,)).fetchone()
            _put(conn, "cursor", block)
            _put(conn, "cursor_timestamp", ts[0] if ts else None)
            _put(conn, "generation", int(_get(conn, "generation")) + 1)
            last = conn.execute("SELECT round, start_block, length FROM rounds ORDER BY round DESC LIMIT 1").fetchone()
            if last:  # the clock as the last round left standing set it
                _put(conn, "clock", RoundClock(last[2], last[0], last[1]).to_json())
            else:
                conn.execute("DELETE FROM meta WHERE key = 'clock'")  # the indexer reads it again

    # -- reading --------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the file, even while the indexer writes."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                self._conn.execute("COMMIT")

    def _meta_raw(self) -> dict[str, Any]:
        with self._lock:
            rows = self._conn.execute("SELECT key, value FROM meta").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def meta(self) -> Meta:
        raw = self._meta_raw()
        if "chain_id" not in raw:
            raise IndexNotFound(f"{self.path} (the file has no index in it yet)")
        return Meta(
            chain_id=int(raw["chain_id"]),
            start_block=int(raw["start_block"]),
            cursor=int(raw["cursor"]),
            cursor_timestamp=raw.get("cursor_timestamp"),
            clock=RoundClock.from_json(raw["clock"]) if raw.get("clock") else None,
            head_block=raw.get("head_block"),
            head_timestamp=raw.get("head_timestamp"),
            head_seen_at=raw.get("head_seen_at"),
            generation=int(raw.get("generation", 0)),
        )

    def events_after(self, event_id: int) -> list[StoredEvent]:
        """Events with a row id above `event_id`, in chain order."""
        with self._lock:
            rows = self._conn.execute(_EVENT_SELECT + " WHERE e.id > ? ORDER BY e.id", (event_id,)).fetchall()
        return [_event(r) for r in rows]

    def recent_events(
        self, limit: int, address: str | None = None, before: tuple[int, int] | None = None
    ) -> list[StoredEvent]:
        """Newest first."""
        where, args = [], []  # type: ignore[var-annotated]
        if address is not None:
            where.append("e.id IN (SELECT event_id FROM event_addresses WHERE address = ?)")
            args.append(address.lower())
        if before is not None:
            where.append("(e.block < ? OR (e.block = ? AND e.log_index < ?))")
            args.extend([before[0], before[0], before[1]])
        sql = _EVENT_SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY e.id DESC LIMIT ?"
        with self._lock:
            rows = self._conn.execute(sql, (*args, limit)).fetchall()
        return [_event(r) for r in rows]

    def rounds(self) -> list[RoundSnapshot]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM rounds ORDER BY round").fetchall()
        return [
            RoundSnapshot(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _opt_int(r[7]), _opt_int(r[8])) for r in rows
        ]

    def recent_blocks(self, limit: int) -> list[BlockRow]:
        """The newest blocks the index touched, newest first (what a re-org check compares)."""
        with self._lock:
            rows = self._conn.execute("SELECT number, hash, timestamp FROM blocks ORDER BY number DESC LIMIT ?", (limit,)).fetchall()
        return [BlockRow(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Rows per table (for tests and the docs)."""
        with self._lock:
            return {t: int(self._conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in ("events", "rounds", "blocks")}


_EVENT_SELECT = (
    "SELECT e.id, e.block, e.log_index, e.tx_hash, e.tx_from, e.contract, e.name, e.round, e.fields, b.timestamp"
    " FROM events e LEFT JOIN blocks b ON b.number = e.block"
)


def _event(row: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(
        id=row[0], block=row[1], log_index=row[2], tx_hash=row[3], tx_from=row[4], contract=row[5], name=row[6],
        round=row[7], fields=json.loads(row[8]), timestamp=row[9],
    )


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")  # readers never block the indexer, nor it them
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _put(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))


def _get(conn: sqlite3.Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def _is_address(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 42 and value.startswith("0x")


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: str | None) -> int | None:
    return None if value is None else int(value)
