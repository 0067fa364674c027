"""Versioned schema migrations of the gateway's records, on SQLite and PostgreSQL.

The upgrade-in-place case uses a file written by framemesh before versions were kept
(tests/gateway/core/data/gateway-e462c6a.sql, dumped from a real gateway file)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from framemesh.durable import Database, open_database
from framemesh.gateway.ai.store import AIJobStore
from framemesh.gateway.core.keys import KeyStore
from framemesh.gateway.core.records import RecordStore
from framemesh.gateway.core.score_store import ScoreStore
from framemesh.gateway.live.store import StreamStore
from framemesh.gateway.vod.jobs import JobState
from framemesh.gateway.vod.store import JobStore
from framemesh.migrations import AddColumn, SchemaTooNew, migrate, versions

OLD_FILE = Path(__file__).parent / "gateway" / "core" / "data" / "gateway-e462c6a.sql"
STORES = (KeyStore, JobStore, AIJobStore, StreamStore, ScoreStore)


def _old_file(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(OLD_FILE.read_text())
    conn.close()
    return path


def test_a_new_database_gets_every_stores_last_version(records_db: Path | str) -> None:
    db, _ = open_database(records_db)
    for store in STORES:
        store(db)
    assert versions(db) == {s.NAME: len(s.MIGRATIONS) for s in STORES}
    assert "ai" in db.columns("streams"), "the column added by the live store's migration 2"
    db.close()


def test_a_file_written_before_versions_were_kept_is_upgraded_in_place(tmp_path: Path) -> None:
    path = _old_file(tmp_path / "gateway.sqlite")
    db = Database(path)
    keys, vod, ai, live, scores = (store(db) for store in STORES)
    assert versions(db) == {s.NAME: len(s.MIGRATIONS) for s in STORES}
    # what the old gateway wrote is all there, and the stores carry on with it
    (key,) = keys.all()
    assert key.name == "old" and keys.owner("vod-1") == key.id
    assert keys.usage(key.id).wei == 12345678901234567890123
    assert vod.job("vod-1").state is JobState.QUEUED and len(vod.segments("vod-1")) == 1
    assert ai.job("ai-1").stages[0].params == {"prompt": "a cat"}
    assert live.get("s-1").ai == {"pipeline": "p", "model_id": "m", "params": {}}
    assert [p.url for p in scores.history()] == ["http://o1"]
    vod.set_job_state("vod-1", JobState.SEGMENTING)
    db.close()
    again = Database(path)
    assert JobStore(again).job("vod-1").state is JobState.SEGMENTING
    again.close()


def test_a_file_older_than_an_added_column_gets_it(tmp_path: Path) -> None:
    path = _old_file(tmp_path / "gateway.sqlite")
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE streams DROP COLUMN ai")  # as written before live AI
    conn.close()
    store = StreamStore(path)
    assert store.get("s-1").ai is None and "ai" in store.database.columns("streams")
    assert versions(store.database)["live"] == len(StreamStore.MIGRATIONS)
    store.close()


def test_a_database_from_a_newer_framemesh_is_refused(records_db: Path | str) -> None:
    KeyStore(records_db).close()
    db, _ = open_database(records_db)
    db.execute("UPDATE schema_version SET version = 99 WHERE store = 'keys'")
    with pytest.raises(SchemaTooNew, match="schema version 99.*only up to 1"):
        KeyStore(db)
    db.close()


class _Counter(RecordStore):
    """A store whose migration 2 is not idempotent: it must run exactly once."""

    NAME = "counter"
    MIGRATIONS = ("CREATE TABLE IF NOT EXISTS runs (n INTEGER NOT NULL)", "INSERT INTO runs (n) VALUES (1)")


def test_each_migration_runs_once_and_later_ones_on_the_next_open(records_db: Path | str) -> None:
    db, _ = open_database(records_db)
    assert migrate(db, "counter", _Counter.MIGRATIONS[:1]) == (0, 1)  # an older release: migration 1 only
    for _ in range(3):
        _Counter(db)
    assert db.execute("SELECT COUNT(*) AS n FROM runs").fetchone()["n"] == 1
    assert migrate(db, "counter", (*_Counter.MIGRATIONS, AddColumn("runs", "at", "REAL"))) == (2, 3)
    assert db.columns("runs") == {"n", "at"}
    db.close()


def test_a_failed_migration_leaves_the_version_and_tables_as_they_were(records_db: Path | str) -> None:
    db, _ = open_database(records_db)
    migrate(db, "counter", _Counter.MIGRATIONS[:1])
    with pytest.raises(Exception):
        migrate(db, "counter", (*_Counter.MIGRATIONS, "CREATE TABLE broken (x TEXT"))
    assert versions(db)["counter"] == 1
    assert db.execute("SELECT COUNT(*) AS n FROM runs").fetchone()["n"] == 0, "migration 2 was rolled back with 3"
    db.close()


def test_gateways_starting_together_migrate_one_after_the_other(postgres_server: object) -> None:
    url = postgres_server.fresh_url()  # type: ignore[attr-defined]
    errors: list[BaseException] = []

    def open_all() -> None:
        try:
            db, _ = open_database(url)
            for store in STORES:
                store(db)
            db.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_all) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db, _ = open_database(url)
    assert versions(db) == {s.NAME: len(s.MIGRATIONS) for s in STORES}
    db.close()
