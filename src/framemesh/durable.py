"""The SQLite files nodes keep what they must never lose in (jobs, winning tickets).

Opened one way everywhere: write-ahead log, and every commit synced to disk before it
returns (`synchronous=FULL`), so a row that was written survives a crash of the
process or the machine. Connections are shared across threads behind a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
    (up to sqlite's busy timeout). Several stores share one `Database`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = open_durable(path, "", rows_as_dicts=True)
        self.lock = threading.RLock()

    def apply(self, schema: str) -> None:
        with self.lock:
            self.conn.executescript(schema)

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def shared(where: Database | Path, schema: str) -> tuple[Database, bool]:
    """`where` as a Database with `schema` applied, and whether the caller opened it
    (and so closes it)."""
    db = where if isinstance(where, Database) else Database(where)
    db.apply(schema)
    return db, not isinstance(where, Database)
