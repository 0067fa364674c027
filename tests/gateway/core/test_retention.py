"""Retention: a job that ended longer ago than the gateway keeps them is forgotten, its
records, outputs and working files; a job still running, or that ended recently, is not."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from framemesh.durable import open_database
from framemesh.gateway.ai.jobs import AIJobState, StagePlan
from framemesh.gateway.ai.store import AIJobStore
from framemesh.gateway.errors import JobNotFound
from framemesh.gateway.vod.jobs import JobState
from framemesh.gateway.core.retention import Janitor, Kept
from framemesh.gateway.vod.store import JobStore

DAY = 86400.0


def _files(root: Path, job_id: str, size: int = 1000) -> list[Path]:
    dirs = [root / "outputs" / job_id, root / "jobs" / job_id]
    for d in dirs:
        d.mkdir(parents=True)
        (d / "data.bin").write_bytes(os.urandom(size))
    return dirs


def _end(store: JobStore, job_id: str, state: JobState) -> None:
    for step in (JobState.SEGMENTING, JobState.TRANSCODING, JobState.ASSEMBLING):
        store.set_job_state(job_id, step)
    store.set_job_state(job_id, state)


def test_jobs_that_ended_long_ago_are_forgotten_with_their_files(tmp_path: Path, records_db: Path | str) -> None:
    db, _ = open_database(records_db)
    store, ai_store = JobStore(db), AIJobStore(db)
    dirs = {}
    for job_id in ("old-done", "old-failed", "running", "new-done"):
        store.add_job(job_id, ("240p",), tmp_path / "src.mp4", "src.mp4")
        dirs[job_id] = _files(tmp_path, job_id)
    _end(store, "old-done", JobState.COMPLETED)
    store.set_job_state("old-failed", JobState.FAILED, error="x")
    store.set_job_state("running", JobState.SEGMENTING)
    plan = [StagePlan("text-to-speech", "piper", {"text": "hi"})]
    ai_store.add_job("ai-old", "stages", plan)
    ai_store.set_job_state("ai-old", AIJobState.CANCELLED)
    ai_store.add_job("ai-queued", "stages", plan)
    janitor = Janitor(
        [Kept(store, lambda j: dirs.get(j, [])), Kept(ai_store, lambda j: [tmp_path / "outputs" / "ai" / j])],
        retention=7 * DAY, interval=3600,
    )
    assert janitor.sweep().jobs == 0, "nothing ended a week ago yet"
    _end(store, "new-done", JobState.COMPLETED)
    # The others ended eight days ago.
    db.execute("UPDATE jobs SET updated = updated - ? WHERE id LIKE 'old-%'", (8 * DAY,))
    db.execute("UPDATE ai_jobs SET updated = updated - ? WHERE id = 'ai-old'", (8 * DAY,))

    swept = janitor.sweep()
    assert swept.jobs == 3 and swept.bytes_freed == 2 * 2 * 1000  # two transcode jobs' two dirs
    for gone in ("old-done", "old-failed"):
        with pytest.raises(JobNotFound):
            store.job(gone)
        assert not any(d.exists() for d in dirs[gone])
    with pytest.raises(JobNotFound):
        ai_store.job("ai-old")
    assert store.job("running").state is JobState.SEGMENTING and all(d.exists() for d in dirs["running"])
    assert ai_store.job("ai-queued").state is AIJobState.QUEUED
    assert janitor.sweep().jobs == 0
    assert store.job("new-done").state is JobState.COMPLETED, "it ended a moment ago"
    assert janitor.sweep(now=time.time() + 7 * DAY + 60).jobs == 1, "a week on, it goes too"
    db.close()


def test_a_cached_answer_goes_with_its_job(records_db: Path | str) -> None:
    store = AIJobStore(records_db)
    plan = StagePlan("text-to-image", "sd", {"prompt": "x", "seed": 1})
    store.add_job("r", "request", [plan], running=True)
    store.finish_stage("r", 0, orchestrator="o", units=1, result={"price": 0}, files={}, key="k", completes_job=True)
    assert store.recall("k") is not None
    assert store.delete_ended(time.time() + 1) == ["r"]
    assert store.recall("k") is None
    store.close()


def test_no_janitor_without_a_positive_retention() -> None:
    with pytest.raises(ValueError):
        Janitor([], retention=0, interval=1)
