from pathlib import Path

import pytest

from framemesh.gateway.errors import JobNotFound
from framemesh.gateway.core.states import IllegalTransition
from framemesh.gateway.vod.jobs import JobState, SegmentState
from framemesh.gateway.vod.store import JobStore


@pytest.fixture
def store(records_db: Path | str) -> JobStore:
    s = JobStore(records_db)
    yield s
    s.close()


def test_job_round_trip_survives_reopening(tmp_path: Path, records_db: Path | str) -> None:
    db = records_db
    s = JobStore(db)
    s.add_job("j1", ("720p", "360p"), tmp_path / "src.mp4", "clip.mp4")
    s.set_job_state("j1", JobState.SEGMENTING)
    s.set_segments("j1", [(0, tmp_path / "0.mkv", 0.0, 2.0), (1, tmp_path / "1.mkv", 2.0, 2.0)])
    s.set_job_state("j1", JobState.TRANSCODING)
    s.set_segment_state("j1", 0, SegmentState.RUNNING)
    s.set_segment_state("j1", 0, SegmentState.DONE, orchestrator="http://a")
    s.set_segment_state("j1", 1, SegmentState.RUNNING)
    s.close()

    again = JobStore(db)
    job = again.job("j1")
    assert job.state is JobState.TRANSCODING and job.profiles == ("720p", "360p")
    assert job.segments_total == 2
    assert [x.state for x in again.jobs(unfinished_only=True)] == [JobState.TRANSCODING]
    assert again.requeue_running("j1") == 1
    assert [s.state for s in again.segments("j1")] == [SegmentState.DONE, SegmentState.PENDING]
    assert again.count_done("j1") == 1
    assert again.work_by_orchestrator("j1") == {"http://a": 1}
    again.close()


def test_unknown_job(store: JobStore) -> None:
    with pytest.raises(JobNotFound, match="nope"):
        store.job("nope")


def test_illegal_moves_are_refused_and_leave_state_alone(store: JobStore, tmp_path: Path) -> None:
    store.add_job("j", ("360p",), tmp_path / "s", "s")
    with pytest.raises(IllegalTransition):
        store.set_job_state("j", JobState.COMPLETED)
    assert store.job("j").state is JobState.QUEUED
    store.set_job_state("j", JobState.SEGMENTING)
    store.set_segments("j", [(0, tmp_path / "0", 0.0, 1.0)])
    store.set_segment_state("j", 0, SegmentState.RUNNING)
    store.set_segment_state("j", 0, SegmentState.DONE, orchestrator="x")
    with pytest.raises(IllegalTransition):
        store.set_segment_state("j", 0, SegmentState.RUNNING)
    assert store.segment("j", 0).orchestrator == "x"


def test_attempts_and_errors_are_counted(store: JobStore, tmp_path: Path) -> None:
    store.add_job("j", ("360p",), tmp_path / "s", "s")
    store.set_segments("j", [(0, tmp_path / "0", 0.0, 1.0)])
    assert store.bump_attempts("j", 0) == 1
    assert store.bump_attempts("j", 0) == 2
    store.add_error("j", "timeout", segment=0, orchestrator="http://a")
    errors = store.errors("j")
    assert [(e.segment, e.orchestrator, e.message) for e in errors] == [(0, "http://a", "timeout")]


def test_failed_job_keeps_its_reason(store: JobStore, tmp_path: Path) -> None:
    store.add_job("j", ("360p",), tmp_path / "s", "s")
    store.set_job_state("j", JobState.FAILED, error="not a video")
    job = store.job("j")
    assert job.state is JobState.FAILED and job.error == "not a video"
    assert store.jobs(unfinished_only=True) == []
