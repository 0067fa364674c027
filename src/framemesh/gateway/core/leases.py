"""Leases: which gateway process runs which job, when several share one database.

A job's row carries its `holder` (a gateway's name, `GatewayConfig.holder`) and
`lease_until` (epoch seconds). The gateway that accepts a job holds it from the
insert on; while it runs the job it renews the lease every third of its length. A
job whose lease ran out (its gateway was killed, or lost the database) is claimed by
the next gateway that looks, with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL so
two gateways looking at once claim different rows, never the same one twice (SQLite's
transaction holds the whole file). A job held by no one (a row from before leases) is
claimable at once; so is one held under the claimant's own name: a gateway restarted
under the same name carries its jobs on without waiting for its old lease to run out.

The lease is also a fence: a gateway that finds at renewal that it no longer holds a
job (it stalled past its lease, and another took the job over) stops working on it,
and a segment or stage is only ever claimed while the job's lease is held.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

from framemesh.migrations import AddColumn
from framemesh.sql import SQLDatabase, skip_locked

HOLDER = "holder"
UNTIL = "lease_until"


def lease_columns(table: str) -> tuple[AddColumn, AddColumn]:
    """The migrations that give `table` its lease."""
    return AddColumn(table, HOLDER, "TEXT"), AddColumn(table, UNTIL, "REAL")


@dataclass(frozen=True)
class Lease:
    """Who holds what it writes, and for how long: a gateway's name and lease length."""

    holder: str
    seconds: float

    def until(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) + self.seconds


class LeasedRows:
    """The leases on one table's unfinished rows (its key column `id`).

    `unfinished` is the WHERE condition of the rows that still have work (with `args`)."""

    def __init__(self, db: SQLDatabase, table: str, unfinished: str, args: Sequence[object] = ()) -> None:
        self.db = db
        self.table = table
        self.unfinished = unfinished
        self.args = tuple(args)

    def claim(self, lease: Lease, limit: int = 20, now: float | None = None, *, own: bool = False) -> list[str]:
        """Take the unfinished rows held by no one or whose lease ran out, and with `own`
        (a gateway starting) those held under `lease.holder` (oldest first, at most
        `limit`); the ids now held."""
        now = time.time() if now is None else now
        with self.db.transaction():
            rows = self.db.execute(
                f"SELECT id FROM {self.table} WHERE ({self.unfinished})"
                f" AND ({HOLDER} IS NULL OR {UNTIL} < ? OR {HOLDER} = ?) ORDER BY created LIMIT ?"
                + skip_locked(self.db.dialect),
                (*self.args, now, lease.holder if own else None, limit),
            ).fetchall()
            ids = [str(r["id"]) for r in rows]
            self.db.executemany(
                f"UPDATE {self.table} SET {HOLDER} = ?, {UNTIL} = ? WHERE id = ?",
                [(lease.holder, lease.until(now), i) for i in ids],
            )
        return ids

    def take(self, lease: Lease, row_id: str, now: float | None = None) -> str | None:
        """Hold one row (unfinished or not) if no one holds it, its lease ran out, or it is
        `lease.holder`'s already; None then, else the name of the gateway that holds it."""
        now = time.time() if now is None else now
        with self.db.transaction():
            cur = self.db.execute(
                f"UPDATE {self.table} SET {HOLDER} = ?, {UNTIL} = ?"
                f" WHERE id = ? AND ({HOLDER} IS NULL OR {HOLDER} = ? OR {UNTIL} < ?)",
                (lease.holder, lease.until(now), row_id, lease.holder, now),
            )
            if cur.rowcount == 1:
                return None
            row = self.db.execute(f"SELECT {HOLDER} FROM {self.table} WHERE id = ?", (row_id,)).fetchone()
        return str(row[HOLDER]) if row is not None else None

    def renew(self, lease: Lease, now: float | None = None) -> set[str]:
        """Extend every lease `lease.holder` holds on unfinished rows; their ids."""
        now = time.time() if now is None else now
        with self.db.transaction():
            self.db.execute(
                f"UPDATE {self.table} SET {UNTIL} = ? WHERE {HOLDER} = ? AND ({self.unfinished})",
                (lease.until(now), lease.holder, *self.args),
            )
            rows = self.db.execute(
                f"SELECT id FROM {self.table} WHERE {HOLDER} = ? AND ({self.unfinished})", (lease.holder, *self.args)
            ).fetchall()
        return {str(r["id"]) for r in rows}

    def release(self, lease: Lease) -> None:
        """Let every row `lease.holder` holds go now (a clean stop): its lease runs out at
        once, so another gateway may take it, or this one after a restart."""
        with self.db.transaction():
            self.db.execute(f"UPDATE {self.table} SET {UNTIL} = 0 WHERE {HOLDER} = ?", (lease.holder,))

    def holds(self, lease: Lease, row_id: str, now: float | None = None) -> bool:
        """Whether `lease.holder` holds row `row_id` now."""
        now = time.time() if now is None else now
        with self.db.lock:
            row = self.db.execute(
                f"SELECT 1 AS held FROM {self.table} WHERE id = ? AND {HOLDER} = ? AND {UNTIL} >= ?",
                (row_id, lease.holder, now),
            ).fetchone()
        return row is not None

    def holder_of(self, row_id: str, now: float | None = None) -> str | None:
        """The gateway that holds row `row_id` now, if any."""
        now = time.time() if now is None else now
        with self.db.lock:
            row = self.db.execute(
                f"SELECT {HOLDER} FROM {self.table} WHERE id = ? AND {UNTIL} >= ?", (row_id, now)
            ).fetchone()
        return str(row[HOLDER]) if row is not None and row[HOLDER] is not None else None
