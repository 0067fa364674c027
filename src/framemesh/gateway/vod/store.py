"""The gateway's durable record of jobs and segments, in one SQLite file.

A job is accepted only once its row is committed, and a segment is marked done
only after its renditions are on disk, so a gateway that dies at any point knows
on restart which jobs finished, which failed, and where to resume the others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framemesh.gateway.core.leases import HOLDER, UNTIL, Lease, LeasedRows, lease_columns
from framemesh.gateway.core.records import RecordStore
from framemesh.gateway.errors import JobNotFound
from framemesh.gateway.vod.jobs import JobState, SegmentState, check_job_move, check_segment_move
from framemesh.sql import SQLDatabase
from framemesh.wire.states import terminal_values

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    profiles TEXT NOT NULL,
    source TEXT NOT NULL,
    source_name TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    segments_total INTEGER,
    error TEXT,
    master TEXT
);
CREATE TABLE IF NOT EXISTS segments (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    idx INTEGER NOT NULL,
    path TEXT NOT NULL,
    start REAL NOT NULL,
    duration REAL NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    orchestrator TEXT,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS job_errors (
    job_id TEXT NOT NULL REFERENCES jobs(id),
    at REAL NOT NULL,
    segment INTEGER,
    orchestrator TEXT,
    message TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class JobRecord:
    id: str
    state: JobState
    profiles: tuple[str, ...]
    source: Path
    source_name: str
    created: float
    updated: float
    segments_total: int | None
    error: str | None
    master: str | None


@dataclass(frozen=True)
class SegmentRecord:
    job_id: str
    index: int
    path: Path
    start: float
    duration: float
    state: SegmentState
    attempts: int
    orchestrator: str | None


@dataclass(frozen=True)
class JobError:
    at: float
    segment: int | None
    orchestrator: str | None
    message: str


class JobStore(RecordStore):
    """Jobs and segments (SQLite or PostgreSQL). Safe to call from several threads."""

    NAME = "vod"
    MIGRATIONS = (_SCHEMA, *lease_columns("jobs"))

    def __init__(self, where: SQLDatabase | Path | str) -> None:
        super().__init__(where)
        ended = tuple(sorted(terminal_values(JobState)))
        self.leases = LeasedRows(self.database, "jobs", f"state NOT IN ({', '.join('?' * len(ended))})", ended)

    # jobs

    def add_job(
        self, job_id: str, profiles: tuple[str, ...], source: Path, source_name: str, lease: Lease | None = None
    ) -> JobRecord:
        """Record a job queued; held under `lease` from the start (no other gateway may
        claim it between its insert and its first step)."""
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, state, profiles, source, source_name, created, updated, holder, lease_until)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, JobState.QUEUED.value, ",".join(profiles), str(source), source_name, now, now,
                 lease.holder if lease else None, lease.until(now) if lease else None),
            )
        return self.job(job_id)

    def job(self, job_id: str) -> JobRecord:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return _job(row)

    def jobs(self, *, unfinished_only: bool = False) -> list[JobRecord]:
        """Every job (or every unfinished one), oldest first."""
        query, args = "SELECT * FROM jobs", ()
        if unfinished_only:
            args = tuple(sorted(terminal_values(JobState)))
            query += f" WHERE state NOT IN ({', '.join('?' * len(args))})"
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created", args).fetchall()
        return [_job(r) for r in rows]

    def page(self, limit: int, offset: int = 0, *, owner: str | None = None) -> list[JobRecord]:
        """A page of jobs (of one API key's, given `owner`), newest first."""
        where, args = self.owned_by(owner)
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM jobs WHERE {where} ORDER BY created DESC, id LIMIT ? OFFSET ?", (*args, limit, offset)
            ).fetchall()
        return [_job(r) for r in rows]

    def set_job_state(
        self, job_id: str, new: JobState, *, error: str | None = None, master: str | None = None
    ) -> JobRecord:
        with self.database.transaction():
            old = self.job(job_id).state
            check_job_move(old, new)
            self._db.execute(
                "UPDATE jobs SET state = ?, updated = ?, error = COALESCE(?, error),"
                " master = COALESCE(?, master) WHERE id = ?",
                (new.value, time.time(), error, master, job_id),
            )
        return self.job(job_id)

    def move_source(self, job_id: str, source: Path) -> JobRecord:
        """The job's source is at `source` now (a gateway that took it over fetched it)."""
        with self._lock:
            self._db.execute("UPDATE jobs SET source = ?, updated = ? WHERE id = ?", (str(source), time.time(), job_id))
        return self.job(job_id)

    def delete_ended(self, before: float) -> list[str]:
        """Forget the jobs that ended (completed or failed) before `before` (epoch
        seconds), with their segments and errors; returns their ids."""
        ended = tuple(sorted(terminal_values(JobState)))
        with self.database.transaction():
            ids = [r["id"] for r in self._db.execute(
                f"SELECT id FROM jobs WHERE state IN ({', '.join('?' * len(ended))}) AND updated < ?", (*ended, before)
            ).fetchall()]
            for table, column in (("job_errors", "job_id"), ("segments", "job_id"), ("jobs", "id")):
                self._db.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in ids])
        return ids

    # segments

    def set_segments(self, job_id: str, segments: list[tuple[int, Path, float, float]]) -> None:
        """Record a job's segments (index, path, start, duration), replacing any earlier split."""
        with self.database.transaction():
            self._db.execute("DELETE FROM segments WHERE job_id = ?", (job_id,))
            self._db.executemany(
                "INSERT INTO segments (job_id, idx, path, start, duration, state) VALUES (?, ?, ?, ?, ?, ?)",
                [(job_id, i, str(p), s, d, SegmentState.PENDING.value) for i, p, s, d in segments],
            )
            self._db.execute(
                "UPDATE jobs SET segments_total = ?, updated = ? WHERE id = ?",
                (len(segments), time.time(), job_id),
            )

    def segments(self, job_id: str) -> list[SegmentRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM segments WHERE job_id = ? ORDER BY idx", (job_id,)
            ).fetchall()
        return [_segment(r) for r in rows]

    def segment(self, job_id: str, index: int) -> SegmentRecord:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM segments WHERE job_id = ? AND idx = ?", (job_id, index)
            ).fetchone()
        if row is None:
            raise KeyError(f"job {job_id} has no segment {index}")
        return _segment(row)

    def set_segment_state(
        self, job_id: str, index: int, new: SegmentState, *, orchestrator: str | None = None
    ) -> SegmentRecord:
        with self.database.transaction():
            old = self.segment(job_id, index).state
            check_segment_move(old, new)
            self._db.execute(
                "UPDATE segments SET state = ?, orchestrator = COALESCE(?, orchestrator)"
                " WHERE job_id = ? AND idx = ?",
                (new.value, orchestrator, job_id, index),
            )
        return self.segment(job_id, index)

    def claim_segment(self, job_id: str, index: int, lease: Lease | None) -> bool:
        """Mark a pending segment running, if it is still pending and (given `lease`) the
        job is still held under it: one claim per segment, by the job's one holder."""
        fence, args = "", ()
        if lease is not None:
            fence, args = f" AND job_id IN (SELECT id FROM jobs WHERE id = ? AND {HOLDER} = ? AND {UNTIL} >= ?)", \
                (job_id, lease.holder, time.time())
        with self._lock:
            cur = self._db.execute(
                f"UPDATE segments SET state = ? WHERE job_id = ? AND idx = ? AND state = ?{fence}",
                (SegmentState.RUNNING.value, job_id, index, SegmentState.PENDING.value, *args),
            )
        return cur.rowcount == 1

    def bump_attempts(self, job_id: str, index: int) -> int:
        """Count one failed attempt at a segment; returns the attempts so far."""
        with self._lock:
            self._db.execute(
                "UPDATE segments SET attempts = attempts + 1 WHERE job_id = ? AND idx = ?", (job_id, index)
            )
        return self.segment(job_id, index).attempts

    def requeue_running(self, job_id: str) -> int:
        """Segments left running by a gateway that died go back to pending."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE segments SET state = ? WHERE job_id = ? AND state = ?",
                (SegmentState.PENDING.value, job_id, SegmentState.RUNNING.value),
            )
        return cur.rowcount

    def count_done(self, job_id: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) AS n FROM segments WHERE job_id = ? AND state = ?",
                (job_id, SegmentState.DONE.value),
            ).fetchone()
        return int(row["n"])

    def work_by_orchestrator(self, job_id: str) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT orchestrator, COUNT(*) AS n FROM segments WHERE job_id = ? AND state = ?"
                " GROUP BY orchestrator",
                (job_id, SegmentState.DONE.value),
            ).fetchall()
        return {str(r["orchestrator"]): int(r["n"]) for r in rows}

    # errors

    def add_error(
        self, job_id: str, message: str, *, segment: int | None = None, orchestrator: str | None = None
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO job_errors (job_id, at, segment, orchestrator, message) VALUES (?, ?, ?, ?, ?)",
                (job_id, time.time(), segment, orchestrator, message),
            )

    def errors(self, job_id: str) -> list[JobError]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, segment, orchestrator, message FROM job_errors WHERE job_id = ? ORDER BY at",
                (job_id,),
            ).fetchall()
        return [JobError(r["at"], r["segment"], r["orchestrator"], r["message"]) for r in rows]




def _job(row: Any) -> JobRecord:
    return JobRecord(
        id=row["id"],
        state=JobState(row["state"]),
        profiles=tuple(p for p in row["profiles"].split(",") if p),
        source=Path(row["source"]),
        source_name=row["source_name"],
        created=row["created"],
        updated=row["updated"],
        segments_total=row["segments_total"],
        error=row["error"],
        master=row["master"],
    )


def _segment(row: Any) -> SegmentRecord:
    return SegmentRecord(
        job_id=row["job_id"],
        index=row["idx"],
        path=Path(row["path"]),
        start=row["start"],
        duration=row["duration"],
        state=SegmentState(row["state"]),
        attempts=row["attempts"],
        orchestrator=row["orchestrator"],
    )
