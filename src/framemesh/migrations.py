"""Versioned schema migrations for the gateway's records, on SQLite and PostgreSQL alike.

Each store names its migrations in order: migration 1 is its first schema, each later
one a change (a column added, an index, a table). `schema_version` keeps, per store,
the number of the last one applied; opening a store applies the ones after it, in one
transaction, under a lock that makes two gateways starting together take turns.

Every migration may meet a database that already has its effect: a file written by a
gateway from before versions were kept has no `schema_version` row, yet has the
tables (and maybe columns) of migrations 1..k. So migrations are written to be
idempotent (`CREATE TABLE IF NOT EXISTS`, `AddColumn` checks first), and such a file is
upgraded in place by applying them all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence, Union

from framemesh.sql import DatabaseError, SQLDatabase, statements

_VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_version (
    store TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    migrated REAL NOT NULL
)
"""


class SchemaTooNew(DatabaseError):
    """The database was migrated by a newer framemesh than this one."""


@dataclass(frozen=True)
class AddColumn:
    """A column added to a table after its first release (kept if it is there already)."""

    table: str
    column: str
    declaration: str


Migration = Union[str, AddColumn]  # a schema script (idempotent statements), or a column


def migrate(db: SQLDatabase, store: str, migrations: Sequence[Migration]) -> tuple[int, int]:
    """Bring `store`'s tables to its last migration; returns (version before, after)."""
    with db.transaction():
        db.schema_lock()
        for statement in statements(_VERSIONS):
            db.execute(statement)
        row = db.execute("SELECT version FROM schema_version WHERE store = ?", (store,)).fetchone()
        before = int(row["version"]) if row is not None else 0
        if before > len(migrations):
            raise SchemaTooNew(
                f"{db.location}: its {store} tables are at schema version {before}, and this framemesh knows "
                f"only up to {len(migrations)}: run a framemesh at least as new as the one that wrote it"
            )
        for migration in migrations[before:]:
            _apply(db, migration)
        if len(migrations) > before:
            db.execute(
                "INSERT INTO schema_version (store, version, migrated) VALUES (?, ?, ?)"
                " ON CONFLICT (store) DO UPDATE SET version = excluded.version, migrated = excluded.migrated",
                (store, len(migrations), time.time()),
            )
    return before, len(migrations)


def versions(db: SQLDatabase) -> dict[str, int]:
    """Each store's schema version in this database (empty before any was migrated)."""
    if not db.columns("schema_version"):
        return {}
    return {r["store"]: int(r["version"]) for r in db.execute("SELECT store, version FROM schema_version").fetchall()}


def _apply(db: SQLDatabase, migration: Migration) -> None:
    if isinstance(migration, AddColumn):
        if migration.column not in db.columns(migration.table):
            db.execute(f"ALTER TABLE {migration.table} ADD COLUMN {migration.column} {migration.declaration}")
        return
    for statement in statements(migration):
        db.execute(statement)
