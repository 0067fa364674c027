"""API keys in the gateway's database (SQLite and PostgreSQL): shown once, kept only as a digest, revocable, and
every request's cost accounted to its key."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from framemesh.gateway.ai.jobs import StagePlan
from framemesh.gateway.ai.store import AIJobStore
from framemesh.gateway.core.keys import PREFIX, KeyStore
from framemesh.gateway.vod.store import JobStore
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


def test_a_claimed_job_is_charged_to_its_key_and_listed_only_for_it(records_db: Path | str, tmp_path: Path) -> None:
    keys = KeyStore(records_db)
    jobs, ai = JobStore(keys.database), AIJobStore(keys.database)  # one database, as in the gateway
    a, _ = keys.create("a")
    b, _ = keys.create("b")
    for n in range(3):
        jobs.add_job(f"v{n}", ("240p",), tmp_path / "s.mp4", "s.mp4")
        ai.add_job(f"ai{n}", "stages", [StagePlan("text-to-speech", "piper", {"text": "hi"})])
    for job_id in ("v0", "v2", "ai1"):
        keys.claim(a.id, "transcode" if job_id.startswith("v") else "ai", job_id)
    keys.claim(b.id, "ai", "ai1")  # claimed already: stays a's
    assert keys.owner("ai1") == a.id and keys.owner("v1") is None
    keys.charge("v0", 10, 2**65)
    keys.charge("v1", 10, 99)  # nobody's job: the operator's
    assert keys.usage(a.id).by_kind == {"transcode": 2**65} and keys.usage(b.id).requests == 0
    assert [j.id for j in jobs.page(10, owner=a.id)] == ["v2", "v0"] and len(jobs.page(10)) == 3
    assert [j.id for j in ai.jobs(owner=a.id)] == ["ai1"] and [j.id for j in ai.jobs(limit=2, offset=1)] == ["ai1", "ai0"]
    assert jobs.page(10, offset=2**63 - 1) == [], "the furthest offset a list may ask for"
    keys.close()


def test_spending_leaves_the_window_oldest_first(records_db: Path | str) -> None:
    store = KeyStore(records_db)
    key, _ = store.create("c")
    start = time.time()
    for wei in (5, 7, 11):
        store.record(key.id, "ai", "j", 1, wei)
    assert store.under_limit_at(key.id, since=start - 1, limit=100) is None, "below it already"
    second = store.under_limit_at(key.id, since=start - 1, limit=12)  # 23 spent: below 12 once 5 and 7 leave
    rows = store.database.execute("SELECT at FROM key_usage ORDER BY at").fetchall()
    assert second == rows[1]["at"]
    store.close()
