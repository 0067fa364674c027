"""The gateway's one database: its SQLite file by default, PostgreSQL when given a URL,
which several gateway processes may share."""

from __future__ import annotations

from pathlib import Path

from framemesh.durable import Database
from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.core.database import open_records
from framemesh.postgres import redacted


def test_the_default_is_the_sqlite_file_in_the_data_directory(tmp_path: Path) -> None:
    config = GatewayConfig(data_dir=tmp_path)
    db = open_records(config.database, config.db_path)
    assert isinstance(db, Database) and db.path == tmp_path / "gateway.sqlite" and db.path.is_file()
    assert config.describe()["database"] == f"{tmp_path / 'gateway.sqlite'} (SQLite)"
    db.close()


def test_a_password_never_appears_in_what_is_printed(tmp_path: Path) -> None:
    config = GatewayConfig(data_dir=tmp_path, database="postgresql://gw:s3cret@db.example:5432/framemesh")
    assert config.describe()["database"] == "postgresql://gw:***@db.example:5432/framemesh"
    assert redacted("postgresql://gw@db/framemesh") == "postgresql://gw@db/framemesh"
