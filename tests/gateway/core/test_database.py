"""The gateway's one database: its SQLite file by default, PostgreSQL when given a URL,
and on PostgreSQL one gateway process at a time (until several can share it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from framemesh.durable import Database
from framemesh.gateway.app import Gateway
from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.core.database import open_records
from framemesh.postgres import PostgresDatabase, redacted
from framemesh.sql import DatabaseInUse


def _close(gateway: Gateway) -> None:
    """What Gateway.stop closes, for a gateway that was never started."""
    gateway.executor.shutdown(wait=False)
    gateway.database.close()


def test_the_default_is_the_sqlite_file_in_the_data_directory(tmp_path: Path) -> None:
    config = GatewayConfig(data_dir=tmp_path)
    db = open_records(config.database, config.db_path)
    assert isinstance(db, Database) and db.path == tmp_path / "gateway.sqlite" and db.path.is_file()
    assert config.describe()["database"] == f"{tmp_path / 'gateway.sqlite'} (SQLite)"
    db.close()


def test_a_second_gateway_on_the_same_postgresql_database_is_refused(postgres_server: object, tmp_path: Path) -> None:
    url = postgres_server.fresh_url()  # type: ignore[attr-defined]
    first = Gateway(GatewayConfig(data_dir=tmp_path / "a", database=url))
    assert isinstance(first.database, PostgresDatabase)
    with pytest.raises(DatabaseInUse, match="another gateway process is using this database"):
        Gateway(GatewayConfig(data_dir=tmp_path / "b", database=url))
    other_schema = Gateway(GatewayConfig(data_dir=tmp_path / "c", database=postgres_server.fresh_url()))  # type: ignore[attr-defined]
    _close(other_schema)
    key, _ = first.keys.create("kept")
    _close(first)  # the first one stopped: its lock went with its connection
    second = Gateway(GatewayConfig(data_dir=tmp_path / "b", database=url))
    assert [k.id for k in second.keys.all()] == [key.id], "the records are the database's, not the process's"
    _close(second)


def test_a_password_never_appears_in_what_is_printed(tmp_path: Path) -> None:
    config = GatewayConfig(data_dir=tmp_path, database="postgresql://gw:s3cret@db.example:5432/framemesh")
    assert config.describe()["database"] == "postgresql://gw:***@db.example:5432/framemesh"
    assert redacted("postgresql://gw@db/framemesh") == "postgresql://gw@db/framemesh"
