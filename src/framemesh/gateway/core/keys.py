"""API keys: who may use the gateway, with what limits, and what each has spent.

A key is shown once, when it is created (`fmk_` and 32 random characters); the
gateway keeps only its SHA-256 and a short prefix to tell keys apart, so its file
gives no key away. Each request a key makes is accounted to it when it ends: its
kind, its job, the units and the wei it cost.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from framemesh.gateway.core.limits import SpendLimit
from framemesh.gateway.core.records import RecordStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,   -- SHA-256 of the key; the key itself is never stored
    prefix TEXT NOT NULL,          -- its first characters, to tell keys apart
    created REAL NOT NULL,
    revoked REAL,
    spend_wei TEXT,                -- spend limit: wei per spend_seconds
    spend_seconds REAL,
    rate REAL,                     -- requests per second
    concurrency INTEGER            -- requests at once
);
CREATE TABLE IF NOT EXISTS key_usage (
    key_id TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,            -- transcode, ai, llm, live
    job_id TEXT NOT NULL,
    units INTEGER NOT NULL,
    wei TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS key_usage_by_key ON key_usage (key_id, at);
CREATE TABLE IF NOT EXISTS key_jobs (  -- whose job (transcode, AI, stream) each is
    job_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS key_jobs_by_key ON key_jobs (key_id);
"""

PREFIX = "fmk_"

# What a part of the gateway calls as work of a job is delivered: (job id, units, wei).
# The work is accounted to the key whose job it is, if any.
Charge = Callable[[str, int, int], None]


def no_charge(job_id: str, units: int, wei: int) -> None:
    """The charge of a gateway part run without API keys (tests, tools)."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    created: float
    revoked: float | None
    spend: SpendLimit | None
    rate: float | None
    concurrency: int | None


@dataclass(frozen=True)
class Usage:
    requests: int
    units: int
    wei: int
    by_kind: dict[str, int]  # wei per kind of work


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore(RecordStore):
    NAME = "keys"
    MIGRATIONS = (_SCHEMA,)

    def create(
        self, name: str, *, spend: SpendLimit | None = None, rate: float | None = None, concurrency: int | None = None
    ) -> tuple[ApiKey, str]:
        """A new key and its secret (shown once: only its digest is kept)."""
        secret = PREFIX + secrets.token_urlsafe(24)
        key_id = uuid.uuid4().hex[:12]
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (id, name, digest, prefix, created, spend_wei, spend_seconds, rate, concurrency)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key_id, name, digest(secret), secret[: len(PREFIX) + 4], time.time(),
                 str(spend.wei) if spend else None, spend.seconds if spend else None, rate, concurrency),
            )
        return self.get(key_id), secret

    def get(self, key_id: str) -> ApiKey:
        with self._lock:
            row = self._db.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise KeyError(key_id)
        return _key(row)

    def find(self, secret: str) -> ApiKey | None:
        """The key with this secret, revoked or not (the caller tells them apart)."""
        with self._lock:
            row = self._db.execute("SELECT * FROM api_keys WHERE digest = ?", (digest(secret),)).fetchone()
        return _key(row) if row is not None else None

    def all(self) -> list[ApiKey]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM api_keys ORDER BY created").fetchall()
        return [_key(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        with self.database.transaction():
            self.get(key_id)
            self._db.execute("UPDATE api_keys SET revoked = COALESCE(revoked, ?) WHERE id = ?", (time.time(), key_id))
        return self.get(key_id)

    def record(self, key_id: str, kind: str, job_id: str, units: int, wei: int) -> None:
        """Account work to a key directly (its job need not be claimed)."""
        with self._lock:
            self._add_usage(key_id, kind, job_id, units, wei)

    def _add_usage(self, key_id: str, kind: str, job_id: str, units: int, wei: int) -> None:
        self._db.execute(
            "INSERT INTO key_usage (key_id, at, kind, job_id, units, wei) VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, time.time(), kind, job_id, units, str(wei)),  # wei as text: it outgrows 64 bits
        )

    def claim(self, key_id: str, kind: str, job_id: str) -> None:
        """Mark the job as the key's: its work is accounted to it, and only it sees the job."""
        with self._lock:
            self._db.execute("INSERT INTO key_jobs (job_id, key_id, kind) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (job_id, key_id, kind))

    def owner(self, job_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT key_id FROM key_jobs WHERE job_id = ?", (job_id,)).fetchone()
        return row["key_id"] if row is not None else None

    def charge(self, job_id: str, units: int, wei: int) -> None:
        """Account delivered work of a job to its key (a `Charge`); a job without one is the operator's."""
        with self.database.transaction():
            row = self._db.execute("SELECT key_id, kind FROM key_jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is not None:
                self._add_usage(row["key_id"], row["kind"], job_id, units, wei)

    def under_limit_at(self, key_id: str, since: float, limit: int) -> float | None:
        """When the key's spending since `since` will have dropped below `limit` as its
        oldest requests leave the window (the moment, not yet shifted by the window's
        length); None if it is below already."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, wei FROM key_usage WHERE key_id = ? AND at >= ? ORDER BY at", (key_id, since)
            ).fetchall()
        spent = sum(int(r["wei"]) for r in rows)
        for r in rows:
            if spent < limit:
                break
            spent -= int(r["wei"])
            if spent < limit:
                return float(r["at"])
        return None

    def usage(self, key_id: str, since: float = 0.0) -> Usage:
        """What the key's requests used since `since` (epoch seconds); wei summed here, exactly."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, units, wei FROM key_usage WHERE key_id = ? AND at >= ?", (key_id, since)
            ).fetchall()
        by_kind: dict[str, int] = {}
        for r in rows:
            by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + int(r["wei"])
        return Usage(len(rows), sum(r["units"] for r in rows), sum(by_kind.values()), by_kind)


def _key(row: object) -> ApiKey:
    r = row  # a row of either back end: read by column name
    spend = SpendLimit(int(r["spend_wei"]), r["spend_seconds"]) if r["spend_wei"] is not None else None  # type: ignore[index]
    return ApiKey(
        id=r["id"], name=r["name"], prefix=r["prefix"], created=r["created"], revoked=r["revoked"],  # type: ignore[index]
        spend=spend, rate=r["rate"], concurrency=r["concurrency"],  # type: ignore[index]
    )
