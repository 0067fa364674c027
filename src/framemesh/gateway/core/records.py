"""The one base of the gateway's record stores: each on the gateway's one database —
its SQLite file, or PostgreSQL (`sql.SQLDatabase`) — or on one of its own, given a path
or a URL (as tests do); its tables brought to its last migration when it is opened.

A store's statements are written once, in the SQL both back ends share (`framemesh.sql`).
"""

from __future__ import annotations

from pathlib import Path

from framemesh.durable import open_database
from framemesh.migrations import Migration, migrate
from framemesh.sql import SQLDatabase


class RecordStore:
    NAME = ""  # its row in schema_version
    # Its schema migrations, in order: 1 is its first schema (CREATE TABLE IF NOT EXISTS …),
    # each later one a change (`migrations.AddColumn`, a new table or index). Append only.
    MIGRATIONS: tuple[Migration, ...] = ()

    def __init__(self, where: SQLDatabase | Path | str) -> None:
        if not self.NAME or not self.MIGRATIONS:
            raise TypeError(f"{type(self).__name__}: a record store names itself (NAME) and its MIGRATIONS")
        self.database, self._owned = open_database(where)
        try:
            migrate(self.database, self.NAME, self.MIGRATIONS)
        except BaseException:
            if self._owned:
                self.database.close()
            raise
        self._db = self.database
        self._lock = self.database.lock

    @staticmethod
    def owned_by(owner: str | None, column: str = "id") -> tuple[str, tuple[str, ...]]:
        """A WHERE condition that keeps the records of one API key's jobs (`core.keys`
        claims them in the gateway's database); every record for None."""
        if owner is None:
            return "1 = 1", ()
        return f"{column} IN (SELECT job_id FROM key_jobs WHERE key_id = ?)", (owner,)

    def close(self) -> None:
        """Close the connection if this store opened it (a shared one is the gateway's)."""
        if self._owned:
            self.database.close()
