"""API keys in the gateway's database (SQLite and PostgreSQL): shown once, kept only as a digest, revocable, and
every request's cost accounted to its key."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from framemesh.gateway.core.keys import PREFIX, KeyStore
from framemesh.gateway.core.limits import parse_spend


def test_a_key_is_kept_only_as_its_digest(records_db: Path | str) -> None:
    store = KeyStore(records_db)
    key, secret = store.create("alice", spend=parse_spend("0.1 ETH/day"), rate=5.0, concurrency=4)
    assert secret.startswith(PREFIX) and len(secret) > 30
    rows = store.database.execute("SELECT * FROM api_keys").fetchall()
    assert secret not in repr([dict(r) for r in rows]), "the records give no key away"
    if isinstance(records_db, Path):
        assert secret not in records_db.read_bytes().decode("latin-1"), "nor does the file"
    found = store.find(secret)
    assert found == key and found.spend == parse_spend("0.1 ETH/day") and (found.rate, found.concurrency) == (5.0, 4)
    assert key.prefix == secret[:8] and store.find(secret + "x") is None
    store.close()


def test_a_revoked_key_is_found_revoked(records_db: Path | str) -> None:
    store = KeyStore(records_db)
    key, secret = store.create("bob")
    assert store.revoke(key.id).revoked is not None
    assert store.find(secret).revoked is not None  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        store.revoke("nope")
    store.close()


def test_usage_is_accounted_per_key_and_period(records_db: Path | str) -> None:
    store = KeyStore(records_db)
    a, _ = store.create("a")
    b, _ = store.create("b")
    store.record(a.id, "ai", "j1", 4096, 10**18 * 9)  # more than fits a 64-bit integer, summed exactly
    store.record(a.id, "ai", "j2", 4096, 10**18 * 9)
    store.record(a.id, "transcode", "j3", 100, 5)
    store.record(b.id, "llm", "j4", 30, 7)
    usage = store.usage(a.id)
    assert (usage.requests, usage.units, usage.wei) == (3, 8292, 18 * 10**18 + 5)
    assert usage.by_kind == {"ai": 18 * 10**18, "transcode": 5}
    assert store.usage(b.id, since=0).wei == 7 and store.usage(a.id, since=time.time() + 1).wei == 0
    store.close()
