"""The AI job store: a job and its stages survive the gateway's process; states only
move forward; a restart finds the stage that was running."""

from __future__ import annotations

from pathlib import Path

import pytest

from framemesh.gateway.ai.jobs import AIJobState, StagePlan, StageState
from framemesh.gateway.ai.store import AIJobStore
from framemesh.gateway.errors import JobNotFound
from framemesh.gateway.core.states import IllegalTransition

PLAN = [StagePlan("text-to-image", "sd", {"prompt": "a boat", "seed": 3}, name="picture"), StagePlan("upscale", "realesrgan/x2", {}, {"image": 0})]


def test_a_job_and_its_stages_survive_a_reopen(tmp_path: Path, records_db: Path | str) -> None:
    db = records_db
    store = AIJobStore(db)
    store.add_job("j1", "stages", PLAN, tmp_path / "uploads")
    store.set_job_state("j1", AIJobState.RUNNING)
    store.start_stage("j1", 0)
    store.finish_stage("j1", 0, orchestrator="http://o1", units=4096, files={"image-0.png": "ai/j1/stage-0/image-0.png"},
                       result={"price": 4096, "outputs": [{"file": "image-0.png"}]})
    store.start_stage("j1", 1)
    store.close()

    again = AIJobStore(db)  # the gateway restarted
    job = again.job("j1")
    assert job.state is AIJobState.RUNNING and job.uploads == tmp_path / "uploads"
    first, second = job.stages
    assert (first.state, first.orchestrator, first.price, first.attempts) == (StageState.DONE, "http://o1", 4096, 1)
    assert first.params == {"prompt": "a boat", "seed": 3} and first.files["image-0.png"].endswith("image-0.png")
    assert second.state is StageState.RUNNING and again.job("j1").plans() == PLAN
    assert again.requeue_running("j1") == 1
    assert again.job("j1").stages[1].state is StageState.PENDING
    assert [j.id for j in again.jobs(unfinished_only=True)] == ["j1"]
    again.close()


def test_a_done_stage_is_final_and_unknown_jobs_say_so(records_db: Path | str) -> None:
    store = AIJobStore(records_db)
    store.add_job("j2", "request", PLAN[:1])
    store.start_stage("j2", 0)
    store.finish_stage("j2", 0, orchestrator="o", units=1, result={}, files={})
    with pytest.raises(IllegalTransition):
        store.start_stage("j2", 0)
    with pytest.raises(IllegalTransition):
        store.set_job_state("j2", AIJobState.COMPLETED)  # queued → completed skips running
    with pytest.raises(JobNotFound):
        store.job("nope")
    with pytest.raises(KeyError, match="no stage 5"):
        store.start_stage("j2", 5)
    store.close()


def test_a_request_is_recorded_running_and_completed_with_its_stage(records_db: Path | str) -> None:
    store = AIJobStore(records_db)
    job = store.add_job("r1", "request", PLAN[:1], running=True)
    assert job.state is AIJobState.RUNNING and job.stages[0].state is StageState.RUNNING and job.stages[0].attempts == 1
    result = {"price": 7, "outputs": [{"file": "image-0.png"}]}
    store.finish_stage("r1", 0, orchestrator="http://o1", units=64, result=result,
                       files={"image-0.png": "ai/r1/image-0.png"}, key="k1", completes_job=True)
    assert store.job("r1").state is AIJobState.COMPLETED
    with pytest.raises(ValueError, match="one-stage"):
        store.add_job("r2", "request", PLAN, running=True)

    earlier = store.recall("k1")
    assert earlier is not None and (earlier.job_id, earlier.files) == ("r1", {"image-0.png": "ai/r1/image-0.png"})
    answered = store.add_done("r3", PLAN[0], orchestrator=earlier.orchestrator, units=earlier.units,
                              result={**result, "price": 0}, files=earlier.files)
    assert answered.state is AIJobState.COMPLETED and answered.stages[0].price == 0
    failed = store.add_done("r4", PLAN[0], orchestrator=None, units=None, result={}, files={}, error="no answer")
    assert (failed.state, failed.stages[0].state, failed.error) == (AIJobState.FAILED, StageState.FAILED, "no answer")
    assert answered.stages[0].files == earlier.files and answered.stages[0].orchestrator == "http://o1"
    assert store.recall("unknown") is None
    store.forget("k1")
    assert store.recall("k1") is None
    store.close()


@pytest.mark.parametrize("ended", [s for s in AIJobState if s.terminal])
def test_a_job_that_ended_is_not_unfinished(records_db: Path | str, ended: AIJobState) -> None:
    store = AIJobStore(records_db)
    store.add_job("done", "stages", PLAN)
    if ended is not AIJobState.CANCELLED:
        store.set_job_state("done", AIJobState.RUNNING)
    store.set_job_state("done", ended)
    store.add_job("waiting", "stages", PLAN)
    assert [j.id for j in store.jobs(unfinished_only=True)] == ["waiting"]
    store.close()
