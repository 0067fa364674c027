"""The gateway's one database: its SQLite file by default, PostgreSQL when given a URL,
several gateway processes sharing one PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

from framemesh.durable import Database
from framemesh.gateway.app import Gateway
from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.core.database import open_records
from framemesh.postgres import PostgresDatabase, redacted


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


def test_gateways_on_one_postgresql_database_share_its_records(postgres_server: object, tmp_path: Path) -> None:
    url = postgres_server.fresh_url()  # type: ignore[attr-defined]
    first = Gateway(GatewayConfig(data_dir=tmp_path / "a", database=url))
    assert isinstance(first.database, PostgresDatabase)
    other_schema = Gateway(GatewayConfig(data_dir=tmp_path / "c", database=postgres_server.fresh_url()))  # type: ignore[attr-defined]
    _close(other_schema)
    key, _ = first.keys.create("kept")
    second = Gateway(GatewayConfig(data_dir=tmp_path / "b", database=url))  # while the first runs
    assert [k.id for k in second.keys.all()] == [key.id], "the records are the database's, not the process's"
    _close(first)
    _close(second)


def test_a_password_never_appears_in_what_is_printed(tmp_path: Path) -> None:
    config = GatewayConfig(data_dir=tmp_path, database="postgresql://gw:s3cret@db.example:5432/framemesh")
    assert config.describe()["database"] == "postgresql://gw:***@db.example:5432/framemesh"
    assert redacted("postgresql://gw@db/framemesh") == "postgresql://gw@db/framemesh"
