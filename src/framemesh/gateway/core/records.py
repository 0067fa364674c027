"""The one base of the gateway's record stores: each on the gateway's one connection to
its SQLite file (or on a file of its own, given a path, as tests do), its own tables
created there, the connection's lock taken around every statement."""

from __future__ import annotations

from pathlib import Path

from framemesh.durable import Database, shared


class RecordStore:
    SCHEMA = ""  # each store's tables (CREATE TABLE IF NOT EXISTS …)
    # Columns added to a table after its first release: {table: {column: declaration}}.
    # A file written by an older gateway gets them when it is opened.
    ADDED: dict[str, dict[str, str]] = {}

    def __init__(self, where: Database | Path) -> None:
        self.database, self._owned = shared(where, self.SCHEMA)
        self._db = self.database.conn
        self._lock = self.database.lock
        with self._lock:
            for table, columns in self.ADDED.items():
                have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})").fetchall()}
                for column, declaration in columns.items():
                    if column not in have:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    @staticmethod
    def owned_by(owner: str | None, column: str = "id") -> tuple[str, tuple[str, ...]]:
        """A WHERE condition that keeps the records of one API key's jobs (`core.keys`
        claims them on the gateway's file); every record for None."""
        if owner is None:
            return "1", ()
        return f"{column} IN (SELECT job_id FROM key_jobs WHERE key_id = ?)", (owner,)

    def close(self) -> None:
        """Close the connection if this store opened it (a shared one is the gateway's)."""
        if self._owned:
            self.database.close()
