"""The gateway's records on PostgreSQL: the other side of `sql.SQLDatabase`.

One psycopg 3 connection per process, in autocommit (each statement commits on its
own, as on SQLite) except inside `transaction()`; the statements are the stores' own,
turned into PostgreSQL's form by `sql.to_postgres`. psycopg is imported only here, so
the embedded default (SQLite) needs nothing installed for it: `pip install
'framemesh[postgres]'`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Sequence
from urllib.parse import urlsplit, urlunsplit

from framemesh.sql import POSTGRESQL, DatabaseUnavailable, to_postgres

# pg_advisory_xact_lock's key for schema migrations: any fixed number, the same in every gateway.
MIGRATION_LOCK = 0x66_6D_73_63_68_65_6D_61  # "fmschema"


def redacted(url: str) -> str:
    """The URL with its password hidden (for logs and the printed configuration)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresDatabase:
    dialect = POSTGRESQL

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError as exc:
            raise DatabaseUnavailable(
                "a postgresql:// database needs psycopg: pip install 'framemesh[postgres]'"
            ) from exc
        self.location = redacted(url)
        try:
            self.conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot connect to {self.location}: {exc}".strip()) from exc
        self.lock = threading.RLock()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        with self.lock:
            return self.conn.execute(to_postgres(sql), tuple(args))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self.lock, self.conn.cursor() as cur:
            cur.executemany(to_postgres(sql), [tuple(r) for r in rows])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock, self.conn.transaction():
            yield

    def columns(self, table: str) -> set[str]:
        rows = self.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        ).fetchall()
        return {r["column_name"] for r in rows}

    def schema_lock(self) -> None:
        """Two gateways starting at once: the second migrates after the first commits."""
        self.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def close(self) -> None:
        with self.lock:
            self.conn.close()
