"""The gateway's durable record of AI jobs and their stages, in the gateway's SQLite file.

A job is accepted once its row and all its stages are committed; a stage is marked
done only after its checked outputs are on disk, with the orchestrator's result. A
gateway that dies knows on restart which stages to run again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framemesh.gateway.core.records import RecordStore
from framemesh.gateway.ai.jobs import (
    AIJobState,
    StagePlan,
    StageState,
    check_ai_job_move,
    check_stage_move,
)
from framemesh.gateway.core.leases import Lease, LeasedRows, lease_columns
from framemesh.gateway.errors import JobNotFound, LeaseLost
from framemesh.sql import SQLDatabase
from framemesh.wire.states import terminal_values

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ai_jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,            -- 'request' (a Livepeer API call) or 'stages' (POST /ai/jobs)
    state TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    uploads TEXT,                  -- the directory of the files the client uploaded, if any
    error TEXT
);
CREATE TABLE IF NOT EXISTS ai_stages (
    job_id TEXT NOT NULL REFERENCES ai_jobs(id),
    idx INTEGER NOT NULL,
    pipeline TEXT NOT NULL,
    model_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',  -- the client's id for the stage
    params TEXT NOT NULL,          -- JSON: the request's fields without the fed inputs
    inputs TEXT NOT NULL DEFAULT '{}',  -- JSON: input field → index of the stage that fills it
    from_uploads TEXT NOT NULL DEFAULT '[]',  -- JSON: input fields read from the client's uploads
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    orchestrator TEXT,
    units INTEGER,
    price INTEGER,
    result TEXT,                   -- JSON: the orchestrator's AIResult
    files TEXT,                    -- JSON: output name → path under the outputs directory
    started REAL,
    finished REAL,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS ai_results (  -- the gateway's exact-result cache
    key TEXT PRIMARY KEY,          -- framemesh.ai.cache.request_key of the stage's request
    job_id TEXT NOT NULL,
    idx INTEGER NOT NULL           -- the stage whose checked outputs answer it
);
"""
# LIMIT for "no limit" in the SQL both back ends share (SQLite has no LIMIT ALL).
ALL = 2**63 - 1


@dataclass(frozen=True)
class StageRecord:
    job_id: str
    index: int
    pipeline: str
    model_id: str
    params: dict[str, Any]
    inputs: dict[str, int]
    name: str
    from_uploads: tuple[str, ...]
    state: StageState
    attempts: int
    orchestrator: str | None
    units: int | None
    price: int | None
    result: dict[str, Any] | None
    files: dict[str, str]
    started: float | None
    finished: float | None


@dataclass(frozen=True)
class AIJobRecord:
    id: str
    kind: str
    state: AIJobState
    created: float
    updated: float
    uploads: Path | None
    error: str | None
    stages: tuple[StageRecord, ...]

    def plans(self) -> list[StagePlan]:
        return [StagePlan(s.pipeline, s.model_id, s.params, s.inputs, s.name, s.from_uploads) for s in self.stages]


class AIJobStore(RecordStore):
    """AI jobs and stages (SQLite or PostgreSQL). Safe to call from several threads."""

    NAME = "ai"
    MIGRATIONS = (_SCHEMA, *lease_columns("ai_jobs"))

    def __init__(self, where: SQLDatabase | Path | str) -> None:
        super().__init__(where)
        ended = tuple(sorted(terminal_values(AIJobState)))
        self.leases = LeasedRows(self.database, "ai_jobs", f"state NOT IN ({', '.join('?' * len(ended))})", ended)

    def add_job(
        self, job_id: str, kind: str, stages: list[StagePlan], uploads: Path | None = None, *, running: bool = False,
        lease: Lease | None = None,
    ) -> AIJobRecord:
        """Record a job queued, held under `lease` from the start; `running`: a one-stage
        request whose stage starts now (one disk sync instead of three: a request's client
        is waiting)."""
        now = time.time()
        job_state, stage_state = (AIJobState.RUNNING, StageState.RUNNING) if running else (AIJobState.QUEUED, StageState.PENDING)
        if running and len(stages) != 1:
            raise ValueError("only a one-stage job starts running as it is recorded")
        with self.database.transaction():
            self._db.execute(
                "INSERT INTO ai_jobs (id, kind, state, created, updated, uploads, holder, lease_until)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, kind, job_state.value, now, now, str(uploads) if uploads else None,
                 lease.holder if lease else None, lease.until(now) if lease else None),
            )
            self._db.executemany(
                "INSERT INTO ai_stages (job_id, idx, pipeline, model_id, name, params, inputs, from_uploads, state,"
                " attempts, started) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(job_id, i, s.pipeline, s.model_id, s.name, json.dumps(s.params), json.dumps(s.inputs),
                  json.dumps(list(s.uploads)), stage_state.value, int(running), now if running else None)
                 for i, s in enumerate(stages)],
            )
        return self.job(job_id)

    def job(self, job_id: str) -> AIJobRecord:
        with self._lock:
            row = self._db.execute("SELECT * FROM ai_jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(job_id)
            stages = self._db.execute("SELECT * FROM ai_stages WHERE job_id = ? ORDER BY idx", (job_id,)).fetchall()
        return _job(row, stages)

    def jobs(
        self, *, unfinished_only: bool = False, limit: int | None = None, offset: int = 0, owner: str | None = None
    ) -> list[AIJobRecord]:
        """Jobs with their stages (two queries), newest first; all of them without `limit`;
        one API key's only, given `owner`."""
        where, args = self.owned_by(owner)
        query = f"SELECT * FROM ai_jobs WHERE {where}"
        if unfinished_only:
            ended = tuple(sorted(terminal_values(AIJobState)))
            query += f" AND state NOT IN ({', '.join('?' * len(ended))})"
            args = (*args, *ended)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created DESC, id LIMIT ? OFFSET ?", (*args, ALL if limit is None else limit, offset)).fetchall()
            ids = [r["id"] for r in rows]
            stages = self._db.execute(
                f"SELECT * FROM ai_stages WHERE job_id IN ({', '.join('?' * len(ids))}) ORDER BY job_id, idx", ids
            ).fetchall() if ids else []
        by_job: dict[str, list[Any]] = {}
        for stage in stages:
            by_job.setdefault(stage["job_id"], []).append(stage)
        return [_job(row, by_job.get(row["id"], [])) for row in rows]

    def delete_ended(self, before: float) -> list[str]:
        """Forget the jobs that ended before `before` (epoch seconds), with their stages
        and the cache entries their outputs answered; returns their ids."""
        ended = tuple(sorted(terminal_values(AIJobState)))
        with self.database.transaction():
            ids = [r["id"] for r in self._db.execute(
                f"SELECT id FROM ai_jobs WHERE state IN ({', '.join('?' * len(ended))}) AND updated < ?",
                (*ended, before),
            ).fetchall()]
            for table, column in (("ai_results", "job_id"), ("ai_stages", "job_id"), ("ai_jobs", "id")):
                self._db.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in ids])
        return ids

    def set_job_state(self, job_id: str, new: AIJobState, *, error: str | None = None) -> AIJobRecord:
        with self.database.transaction():
            row = self._db.execute("SELECT state FROM ai_jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(job_id)
            check_ai_job_move(AIJobState(row["state"]), new)
            self._db.execute(
                "UPDATE ai_jobs SET state = ?, updated = ?, error = COALESCE(?, error) WHERE id = ?",
                (new.value, time.time(), error, job_id),
            )
        return self.job(job_id)

    def start_stage(self, job_id: str, index: int, lease: Lease | None = None) -> None:
        """Mark a stage running; given `lease`, only while the job is held under it."""
        if lease is not None and not self.leases.holds(lease, job_id):
            raise LeaseLost(f"AI job {job_id}: another gateway took it over; stage {index} is its to run")
        self._move_stage(job_id, index, StageState.RUNNING, "attempts = attempts + 1, started = ?", (time.time(),))

    def finish_stage(
        self, job_id: str, index: int, *, orchestrator: str, units: int, result: dict[str, Any], files: dict[str, str],
        key: str | None = None, completes_job: bool = False,
    ) -> None:
        """The stage is done; with `key`, its outputs answer the same request from now on;
        with `completes_job`, the job is completed in the same transaction."""
        self._move_stage(
            job_id, index, StageState.DONE,
            "orchestrator = ?, units = ?, price = ?, result = ?, files = ?, finished = ?",
            (orchestrator, units, int(result.get("price", 0)), json.dumps(result), json.dumps(files), time.time()),
            remember=key, completes_job=completes_job,
        )

    def recall(self, key: str) -> StageRecord | None:
        """The done stage whose outputs answer the request with this key, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT s.* FROM ai_results r JOIN ai_stages s ON s.job_id = r.job_id AND s.idx = r.idx"
                " WHERE r.key = ? AND s.state = ?", (key, StageState.DONE.value),
            ).fetchone()
        return _stage(row) if row is not None else None

    def forget(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM ai_results WHERE key = ?", (key,))

    def add_done(
        self, job_id: str, plan: StagePlan, *, orchestrator: str | None, units: int | None, result: dict[str, Any],
        files: dict[str, str], started: float | None = None, error: str | None = None,
    ) -> AIJobRecord:
        """A one-stage request recorded when it has ended (an answer from the gateway's
        cache, an LLM answer): done — or failed, with `error` — in one transaction."""
        now = time.time()
        job_state, stage_state = (AIJobState.FAILED, StageState.FAILED) if error else (AIJobState.COMPLETED, StageState.DONE)
        with self.database.transaction():
            self._db.execute(
                "INSERT INTO ai_jobs (id, kind, state, created, updated, error) VALUES (?, 'request', ?, ?, ?, ?)",
                (job_id, job_state.value, started or now, now, error),
            )
            self._db.execute(
                "INSERT INTO ai_stages (job_id, idx, pipeline, model_id, name, params, inputs, state, attempts,"
                " orchestrator, units, price, result, files, started, finished)"
                " VALUES (?, 0, ?, ?, '', ?, '{}', ?, 1, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, plan.pipeline, plan.model_id, json.dumps(plan.params), stage_state.value, orchestrator, units,
                 int(result.get("price", 0)), json.dumps(result), json.dumps(files), started or now, now),
            )
        return self.job(job_id)

    def fail_stage(self, job_id: str, index: int) -> None:
        self._move_stage(job_id, index, StageState.FAILED, "finished = ?", (time.time(),))

    def requeue_stage(self, job_id: str, index: int) -> None:
        """A running stage back to pending (it waits for an orchestrator, then starts again)."""
        self._move_stage(job_id, index, StageState.PENDING, "finished = NULL", ())

    def requeue_running(self, job_id: str) -> int:
        """Stages left running by a gateway that died go back to pending."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE ai_stages SET state = ? WHERE job_id = ? AND state = ?",
                (StageState.PENDING.value, job_id, StageState.RUNNING.value),
            )
        return cur.rowcount

    def _move_stage(
        self, job_id: str, index: int, new: StageState, sets: str, values: tuple[Any, ...], remember: str | None = None,
        completes_job: bool = False,
    ) -> None:
        with self.database.transaction():
            row = self._db.execute(
                "SELECT state FROM ai_stages WHERE job_id = ? AND idx = ?", (job_id, index)
            ).fetchone()
            if row is None:
                raise KeyError(f"AI job {job_id} has no stage {index}")
            check_stage_move(StageState(row["state"]), new)
            self._db.execute(
                f"UPDATE ai_stages SET state = ?, {sets} WHERE job_id = ? AND idx = ?",
                (new.value, *values, job_id, index),
            )
            self._db.execute("UPDATE ai_jobs SET updated = ? WHERE id = ?", (time.time(), job_id))
            if completes_job:
                state = self._db.execute("SELECT state FROM ai_jobs WHERE id = ?", (job_id,)).fetchone()["state"]
                check_ai_job_move(AIJobState(state), AIJobState.COMPLETED)
                self._db.execute("UPDATE ai_jobs SET state = ? WHERE id = ?", (AIJobState.COMPLETED.value, job_id))
            if remember is not None:
                self._db.execute(
                    "INSERT INTO ai_results (key, job_id, idx) VALUES (?, ?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, idx = excluded.idx", (remember, job_id, index)
                )



def _job(row: Any, stages: list[Any]) -> AIJobRecord:
    return AIJobRecord(
        id=row["id"],
        kind=row["kind"],
        state=AIJobState(row["state"]),
        created=row["created"],
        updated=row["updated"],
        uploads=Path(row["uploads"]) if row["uploads"] else None,
        error=row["error"],
        stages=tuple(_stage(s) for s in stages),
    )


def _stage(row: Any) -> StageRecord:
    return StageRecord(
        job_id=row["job_id"],
        index=row["idx"],
        pipeline=row["pipeline"],
        model_id=row["model_id"],
        params=json.loads(row["params"]),
        inputs={k: int(v) for k, v in json.loads(row["inputs"]).items()},
        name=row["name"],
        from_uploads=tuple(json.loads(row["from_uploads"])),
        state=StageState(row["state"]),
        attempts=row["attempts"],
        orchestrator=row["orchestrator"],
        units=row["units"],
        price=row["price"],
        result=json.loads(row["result"]) if row["result"] else None,
        files=json.loads(row["files"]) if row["files"] else {},
        started=row["started"],
        finished=row["finished"],
    )
