"""The gateway's one database: the SQLite file in its data directory (the embedded
default), or PostgreSQL given `database` (a postgresql:// URL).

Several gateway processes may open one PostgreSQL database (issue #15, point 3).
"""

from __future__ import annotations

from pathlib import Path

from framemesh.durable import open_database
from framemesh.sql import SQLDatabase


def open_records(database: str | None, default_file: Path) -> SQLDatabase:
    """The gateway's database: PostgreSQL at `database`, else the SQLite file."""
    db, _ = open_database(database if database is not None else default_file)
    return db
