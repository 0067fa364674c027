"""The SQLite files nodes keep what they must never lose in (jobs, winning tickets).

Opened one way everywhere: write-ahead log, and every commit synced to disk before it
returns (`synchronous=FULL`), so a row that was written survives a crash of the
process or the machine. Connections are shared across threads behind a lock.

`Database` is the SQLite side of the gateway's records port (`sql.SQLDatabase`);
`open_database` opens either side from a path or a postgresql:// URL. The
orchestrator's winning tickets stay in a SQLite file of their own (`open_durable`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Sequence

from framemesh.sql import SQLITE, SQLDatabase


def open_durable(path: Path, schema: str, *, rows_as_dicts: bool = False) -> sqlite3.Connection:
    """Open (creating if needed) the database at `path` and apply `schema`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    if rows_as_dicts:
        db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """Statements that commit together or not at all (the write lock taken at the start,
    so a read-check-write inside cannot race another connection)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class Database:
    """One SQLite file's one connection in this process, and the lock every user of it
    takes: the file has one writer, so a write never waits on another connection's
    (up to sqlite's busy timeout). Several stores share one `Database`. It is the
    SQLite side of `sql.SQLDatabase` (`postgres.PostgresDatabase` is the other)."""

    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self.conn = open_durable(path, "", rows_as_dicts=True)
        self.lock = threading.RLock()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, args)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.lock:
            self.conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock, transaction(self.conn):
            yield

    def columns(self, table: str) -> set[str]:
        with self.lock:
            return {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})").fetchall()}

    def schema_lock(self) -> None:
        """Nothing to wait for: the transaction's BEGIN IMMEDIATE holds the file's write lock."""

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def open_database(where: SQLDatabase | Path | str) -> tuple[SQLDatabase, bool]:
    """The gateway's records at `where` — an open database, a SQLite file's path, or a
    `postgresql://` URL — and whether this call opened it (and so the caller closes it)."""
    if not isinstance(where, (Path, str)):
        return where, False  # open already (either back end)
    if isinstance(where, str) and where.startswith(POSTGRES_SCHEMES):
        from framemesh.postgres import PostgresDatabase

        return PostgresDatabase(where), True
    return Database(Path(where)), True


POSTGRES_SCHEMES = ("postgresql://", "postgres://")
