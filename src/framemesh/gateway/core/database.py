"""The gateway's one database: the SQLite file in its data directory (the embedded
default), or PostgreSQL given `database` (a postgresql:// URL).

On PostgreSQL the gateway holds a lock on the database (its schema) for as long as it
runs: a second gateway process pointed at the same one is refused. Several gateways
sharing one database need work claimed with leases and payment state shared safely
(issue #15, points 3 and 4); until then one gateway per database, and it says so
rather than running two that would each resume the other's jobs.
"""

from __future__ import annotations

from pathlib import Path

from framemesh.durable import open_database
from framemesh.sql import DatabaseInUse, SQLDatabase

# pg_try_advisory_lock's first key ("fmgw"); the second is the schema's hash.
GATEWAY_LOCK = 0x666D_6777


def open_records(database: str | None, default_file: Path) -> SQLDatabase:
    """The gateway's database: PostgreSQL at `database`, else the SQLite file."""
    db, _ = open_database(database if database is not None else default_file)
    try_lock = getattr(db, "try_lock", None)  # PostgreSQL: one gateway process at a time
    if try_lock is not None and not try_lock(GATEWAY_LOCK):
        db.close()
        raise DatabaseInUse(
            f"{db.location}: another gateway process is using this database. Several gateways on one "
            "database are not supported yet (jobs would be resumed twice and ticket nonces collide): "
            "stop the other one, or give this one its own database (or schema: ?options=-csearch_path%3DNAME)"
        )
    return db
