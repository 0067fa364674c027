"""Suite-wide settings.

`scripts/test` installs every optional package and sets FRAMEMESH_REQUIRE_AI: then a
test that would skip for a missing package fails instead, so CI can't pass by
silently skipping the AI tests. FRAMEMESH_REQUIRE_POSTGRES does the same for the
PostgreSQL server the gateway's record stores are tested on.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.postgres_server import PostgresServer, find_bin

if os.environ.get("FRAMEMESH_REQUIRE_AI"):

    def _require(modname: str, minversion: str | None = None, reason: str | None = None, **_: object) -> ModuleType:
        return importlib.import_module(modname)

    pytest.importorskip = _require  # type: ignore[assignment]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (tests/postgres_server.py); skips only
    when its programs are missing and FRAMEMESH_REQUIRE_POSTGRES is not set (scripts/test sets it)."""
    if find_bin("initdb") is None or find_bin("pg_ctl") is None:
        if os.environ.get("FRAMEMESH_REQUIRE_POSTGRES"):
            pytest.fail("FRAMEMESH_REQUIRE_POSTGRES is set but PostgreSQL's initdb/pg_ctl were not found "
                        "(apt-get install postgresql: it is in scripts/debian-packages.txt)")
        pytest.skip("no PostgreSQL server programs (apt-get install postgresql)")
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def records_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where one of the gateway's record stores keeps its records, on each back end in
    turn: a SQLite file's path, then a postgresql:// URL of an empty schema of its own.
    A store test that takes it runs on both, so the two stay one interface."""
    if request.param == "sqlite":
        return tmp_path / "g.sqlite"
    return request.getfixturevalue("postgres_server").fresh_url()


@pytest.fixture(scope="session")
def s3_server():  # type: ignore[no-untyped-def]
    """One SeaweedFS S3 server for the whole run (tests/s3_server.py); tests make their own buckets."""
    from tests.s3_server import seaweed_s3

    yield from seaweed_s3()
