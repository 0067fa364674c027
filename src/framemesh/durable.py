"""The SQLite files nodes keep what they must never lose in (jobs, winning tickets).

Opened one way everywhere: write-ahead log, and every commit synced to disk before it
returns (`synchronous=FULL`), so a row that was written survives a crash of the
process or the machine. Connections are shared across threads behind a lock.
"""

from __future__ import annotations

import sqlite3
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
