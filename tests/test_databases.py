"""The records' port (`sql.SQLDatabase`) behaves the same on both back ends: one
conformance suite, run on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from framemesh.durable import open_database
from framemesh.postgres import PostgresDatabase
from framemesh.sql import SQLITE, DatabaseUnavailable, SQLDatabase, skip_locked, statements

SCHEMA = """
CREATE TABLE IF NOT EXISTS things (
    id TEXT PRIMARY KEY,
    n INTEGER NOT NULL,   -- 64 bits on both
    at REAL,              -- a double on both (PostgreSQL's own REAL is 4 bytes)
    note TEXT
)
"""


@pytest.fixture
def db(records_db: Path | str) -> SQLDatabase:
    opened, _ = open_database(records_db)
    for statement in statements(SCHEMA):
        opened.execute(statement)
    yield opened
    opened.close()


def test_rows_are_read_by_column_name_with_values_as_written(db: SQLDatabase) -> None:
    now = time.time()
    db.execute("INSERT INTO things (id, n, at, note) VALUES (?, ?, ?, ?)", ("a", 2**62, now, "50% off"))
    row = db.execute("SELECT * FROM things WHERE id = ?", ("a",)).fetchone()
    assert dict(row) == {"id": "a", "n": 2**62, "at": now, "note": "50% off"}, "integers and times exact"
    assert db.execute("SELECT id FROM things WHERE note LIKE '50%'").fetchone()["id"] == "a"
    assert db.execute("SELECT * FROM things WHERE id = ?", ("b",)).fetchone() is None


def test_a_transaction_commits_together_or_not_at_all(db: SQLDatabase) -> None:
    with db.transaction():
        db.execute("INSERT INTO things (id, n) VALUES ('a', 1)")
        db.execute("INSERT INTO things (id, n) VALUES ('b', 2)")
    with pytest.raises(Exception):
        with db.transaction():
            db.execute("INSERT INTO things (id, n) VALUES ('c', 3)")
            db.execute("INSERT INTO things (id, n) VALUES ('a', 4)")  # a duplicate key
    assert [r["id"] for r in db.execute("SELECT id FROM things ORDER BY id").fetchall()] == ["a", "b"]
    db.execute("INSERT INTO things (id, n) VALUES ('d', 5)")  # the connection works on after a rollback
    assert db.execute("SELECT COUNT(*) AS n FROM things").fetchone()["n"] == 3


def test_upserts_and_row_counts(db: SQLDatabase) -> None:
    db.executemany("INSERT INTO things (id, n) VALUES (?, ?)", [("a", 1), ("b", 2), ("c", 3)])
    db.executemany("INSERT INTO things (id, n) VALUES (?, ?)", [])
    db.execute("INSERT INTO things (id, n) VALUES ('a', 9) ON CONFLICT DO NOTHING")
    db.execute("INSERT INTO things (id, n) VALUES ('b', 9) ON CONFLICT (id) DO UPDATE SET n = excluded.n")
    assert {r["id"]: r["n"] for r in db.execute("SELECT id, n FROM things").fetchall()} == {"a": 1, "b": 9, "c": 3}
    assert db.execute("UPDATE things SET note = 'x' WHERE n < ?", (5,)).rowcount == 2
    assert db.execute("DELETE FROM things").rowcount == 3


def test_columns_of_a_table_and_of_none(db: SQLDatabase) -> None:
    assert db.columns("things") == {"id", "n", "at", "note"}
    assert db.columns("no_such_table") == set()


def test_an_unreachable_server_is_named_without_its_password() -> None:
    with pytest.raises(DatabaseUnavailable, match=r"cannot connect to postgresql://u:\*\*\*@127\.0\.0\.1:9/x") as caught:
        PostgresDatabase("postgresql://u:hunter2@127.0.0.1:9/x?connect_timeout=5")
    assert "hunter2" not in str(caught.value)


def test_rows_claimed_in_one_transaction_are_passed_over_by_another(records_db: Path | str, db: SQLDatabase) -> None:
    """The ground work for leases: two gateways claiming work at once get different rows."""
    db.executemany("INSERT INTO things (id, n) VALUES (?, 0)", [("a",), ("b",), ("c",)])
    claim = f"SELECT id FROM things WHERE n = 0 ORDER BY id LIMIT 1{skip_locked(db.dialect)}"
    if db.dialect == SQLITE:  # one writer at a time: the second claim comes after the first commits
        with db.transaction():
            first = db.execute(claim).fetchone()["id"]
            db.execute("UPDATE things SET n = 1 WHERE id = ?", (first,))
        assert db.execute(claim).fetchone()["id"] == "b"
        return
    other, _ = open_database(records_db)
    with db.transaction():
        first = db.execute(claim).fetchone()["id"]
        with other.transaction():  # a second process, while the first has not committed
            second = other.execute(claim).fetchone()["id"]
    other.close()
    assert (first, second) == ("a", "b")
