"""One SQL text for both back ends of the gateway's records: SQLite and PostgreSQL.

The stores write their statements once, in the SQL both engines share: `?`
placeholders, `INSERT ... ON CONFLICT`, `COALESCE`, `CASE`, `LIMIT ? OFFSET ?`, and
the column types TEXT, INTEGER, REAL and BLOB. This module (pure: no I/O) turns such a
statement into PostgreSQL's form — `%s` placeholders (and `%` doubled), INTEGER as
BIGINT and REAL as DOUBLE PRECISION in DDL (PostgreSQL's REAL is 4 bytes, too few for
a Unix time) — and splits a schema script into its statements. `SQLDatabase` is the
port every store talks to; `durable.Database` (SQLite) and `postgres.PostgresDatabase`
implement it.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any, Protocol, Sequence

SQLITE, POSTGRESQL = "sqlite", "postgresql"


class DatabaseError(RuntimeError):
    """Root of the records' database errors:

        DatabaseError
        ├── DatabaseUnavailable   it cannot be used (its client is missing, its server unreachable)
        ├── DatabaseInUse         another gateway process holds what this one claims
        │   └── SenderInUse       its chain account (gateway.core.senders)
        └── SchemaTooNew          a newer framemesh migrated it (migrations.py)
    """


class DatabaseUnavailable(DatabaseError):
    pass


class DatabaseInUse(DatabaseError):
    pass

_DDL = re.compile(r"^\s*(CREATE|ALTER)\b", re.IGNORECASE)
_TYPES = ((re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
          (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
          (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"))


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class SQLDatabase(Protocol):
    """The port of the gateway's records: statements in the shared SQL (`?` placeholders),
    rows read by column name (`row["id"]`, `dict(row)`), one connection behind `lock`."""

    dialect: str  # SQLITE or POSTGRESQL
    location: str  # the file's path or the URL (password hidden): for messages

    @property
    def lock(self) -> Any: ...
    def execute(self, sql: str, args: Sequence[Any] = ()) -> Cursor: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def transaction(self) -> AbstractContextManager[None]:
        """Statements that commit together or not at all; the connection's lock held."""
        ...
    def columns(self, table: str) -> set[str]:
        """The columns `table` has now (none: no such table)."""
        ...
    def schema_lock(self) -> None:
        """Inside a transaction: wait until no other process is migrating this database."""
        ...
    def close(self) -> None: ...


def skip_locked(dialect: str) -> str:
    """The clause that makes a SELECT inside `transaction()` claim its rows: on PostgreSQL,
    rows another transaction holds are passed over (work leases for several gateways);
    SQLite needs none, its transaction already holds the whole file."""
    return " FOR UPDATE SKIP LOCKED" if dialect == POSTGRESQL else ""


def statements(script: str) -> list[str]:
    """A schema script's statements, comments dropped (`;` never appears in a literal there)."""
    return [s.strip() for s in _strip_comments(script).split(";") if s.strip()]


@lru_cache(maxsize=1024)
def to_postgres(sql: str) -> str:
    """`sql` in PostgreSQL's form, for psycopg: `?` outside literals as `%s`, every `%`
    doubled (psycopg reads `%` as a placeholder, even in literals), comments dropped,
    and in CREATE/ALTER the column types PostgreSQL spells differently."""
    out: list[str] = []
    in_quote = False
    text = _strip_comments(sql)
    for ch in text:
        if ch == "'":
            in_quote = not in_quote  # '' inside a literal toggles twice: still inside
            out.append(ch)
        elif ch == "%":
            out.append("%%")
        elif ch == "?" and not in_quote:
            out.append("%s")
        else:
            out.append(ch)
    result = "".join(out)
    if _DDL.match(result):
        result = _types(result)
    return result


def _types(ddl: str) -> str:
    """Rename the types outside literals (a DEFAULT 'REAL' stays as it is)."""
    parts = ddl.split("'")
    for i in range(0, len(parts), 2):  # the even parts are outside quotes
        for pattern, name in _TYPES:
            parts[i] = pattern.sub(name, parts[i])
    return "'".join(parts)


def _strip_comments(sql: str) -> str:
    """`sql` without its `-- ...` comments (a `--` inside a literal is kept)."""
    out: list[str] = []
    in_quote = False
    i = 0
    while i < len(sql):
        ch = sql[i]
        if ch == "'":
            in_quote = not in_quote
        elif not in_quote and sql.startswith("--", i):
            end = sql.find("\n", i)
            if end == -1:
                break
            i = end
            continue
        out.append(ch)
        i += 1
    return "".join(out)
