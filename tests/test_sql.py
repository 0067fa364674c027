"""The SQL both back ends share, turned into PostgreSQL's form (pure: no database)."""

from __future__ import annotations

from framemesh.sql import statements, to_postgres


def test_placeholders_become_psycopgs_outside_literals_only() -> None:
    assert to_postgres("SELECT * FROM t WHERE a = ? AND b = '?' AND c = ?") == (
        "SELECT * FROM t WHERE a = %s AND b = '?' AND c = %s"
    )


def test_a_percent_is_doubled_everywhere_psycopg_would_read_it() -> None:
    assert to_postgres("SELECT id FROM jobs WHERE id LIKE 'old-%' AND x = ?") == (
        "SELECT id FROM jobs WHERE id LIKE 'old-%%' AND x = %s"
    )


def test_a_quote_inside_a_literal_does_not_end_it() -> None:
    assert to_postgres("SELECT 'it''s ?' , ?") == "SELECT 'it''s ?' , %s"


def test_comments_are_dropped_even_with_quotes_and_marks_in_them() -> None:
    sql = "SELECT a, -- the client's id?\n b FROM t WHERE c = '--not a comment' AND d = ?"
    assert to_postgres(sql) == "SELECT a, \n b FROM t WHERE c = '--not a comment' AND d = %s"


def test_ddl_types_are_widened_where_postgresql_spells_them_smaller() -> None:
    ddl = "CREATE TABLE t (at REAL NOT NULL, n INTEGER, b BLOB, s TEXT DEFAULT 'REAL INTEGER')"
    assert to_postgres(ddl) == (
        "CREATE TABLE t (at DOUBLE PRECISION NOT NULL, n BIGINT, b BYTEA, s TEXT DEFAULT 'REAL INTEGER')"
    )
    assert to_postgres("ALTER TABLE t ADD COLUMN x REAL") == "ALTER TABLE t ADD COLUMN x DOUBLE PRECISION"


def test_types_in_a_query_are_left_alone() -> None:
    assert to_postgres("SELECT integer_count FROM real_things") == "SELECT integer_count FROM real_things"


def test_a_schema_script_splits_into_its_statements() -> None:
    script = """
    CREATE TABLE a (x TEXT DEFAULT '{}');  -- first; with a comment
    -- a line of comment only
    CREATE INDEX a_x ON a (x);
    """
    assert statements(script) == ["CREATE TABLE a (x TEXT DEFAULT '{}')", "CREATE INDEX a_x ON a (x)"]
