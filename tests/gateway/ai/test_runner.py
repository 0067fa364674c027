"""The AI job runner's own logic, with a stand-in for the network (a dispatcher that
answers at once): a stage that waits for an orchestrator leaves its sibling running."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from framemesh.gateway.ai import runner as ai_runner
from framemesh.gateway.ai.dispatch import NoOrchestrator
from framemesh.gateway.ai.jobs import AIJobState, StagePlan, StageState
from framemesh.gateway.ai.directory import AIDirectory
from framemesh.gateway.ai.store import AIJobStore
from framemesh.wire.ai import AIResult


class Dispatcher:
    """Stage 1 finds no free orchestrator once; stage 0 takes a while and then answers."""

    def __init__(self) -> None:
        self.directory = AIDirectory()
        self.busy_once = True
        self.calls: list[str] = []

    async def run(self, pipeline: str, model_id: str, request: Any, units: int, dest_dir: Path, job_id: str,
                  on_progress: Any = None, key: str = "") -> tuple[AIResult, dict[str, Path], str]:
        self.calls.append(job_id)
        if job_id.endswith("-1") and self.busy_once:
            self.busy_once = False
            raise NoOrchestrator(503, "every orchestrator is busy", [])
        await asyncio.sleep(0.2 if job_id.endswith("-0") else 0.0)
        result = AIResult(pipeline=pipeline, model_id=model_id, job_id=job_id, units=units, price=0,
                          orchestrator="http://o", elapsed=0.0)
        return result, {}, "http://o"


def test_a_waiting_stage_does_not_requeue_its_running_sibling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ai_runner, "BUSY_PAUSES", (0.05,))
    store = AIJobStore(tmp_path / "g.sqlite")
    plans = [StagePlan("text-to-speech", "piper", {"text": "one"}), StagePlan("text-to-speech", "piper", {"text": "two"})]
    store.add_job("j", "stages", plans)
    dispatcher = Dispatcher()
    runner = ai_runner.AIJobRunner(store, dispatcher, tmp_path / "out", tmp_path / "jobs")  # type: ignore[arg-type]

    async def go() -> None:
        runner.submit("j")
        await asyncio.wait_for(runner._tasks["j"], timeout=10)

    asyncio.run(go())
    job = store.job("j")
    assert job.state is AIJobState.COMPLETED, job.error
    assert [s.state for s in job.stages] == [StageState.DONE, StageState.DONE]
    assert [s.attempts for s in job.stages] == [1, 2], "stage 1 started again after its wait; stage 0 once"
    assert sorted(dispatcher.calls) == ["j-0", "j-1", "j-1"]
    assert runner._tasks == {}, "a finished job's task is not kept"
    store.close()


def test_a_cancelled_job_is_not_resubmitted_on_restart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = AIJobStore(tmp_path / "g.sqlite")
    plans = [StagePlan("text-to-speech", "piper", {"text": "one"})]
    store.add_job("gone", "stages", plans)
    store.set_job_state("gone", AIJobState.CANCELLED, error="cancelled by its client")
    store.add_job("live", "stages", plans)
    dispatcher = Dispatcher()
    runner = ai_runner.AIJobRunner(store, dispatcher, tmp_path / "out", tmp_path / "jobs")  # type: ignore[arg-type]

    async def go() -> None:
        runner.resume()
        await asyncio.gather(*runner._tasks.values())

    with caplog.at_level("INFO", logger="framemesh.gateway"):
        asyncio.run(go())
    assert dispatcher.calls == ["live-0"], "only the unfinished job ran"
    assert store.job("gone").state is AIJobState.CANCELLED
    assert not [r for r in caplog.records if "crashed" in r.getMessage() or "gone" in r.getMessage()]
    store.close()


class Failing(Dispatcher):
    """Both parallel stages fail, one a moment after the other."""

    async def run(self, pipeline: str, model_id: str, request: Any, units: int, dest_dir: Path, job_id: str,
                  on_progress: Any = None, key: str = "") -> tuple[AIResult, dict[str, Path], str]:
        self.calls.append(job_id)
        await asyncio.sleep(0.05 if job_id.endswith("-1") else 0.0)
        raise NoOrchestrator(503, f"{job_id} failed on every orchestrator tried", [])


def test_parallel_stages_that_both_fail_both_end_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """B7: no stage of a failed job is left running; a stage that can now never start fails too."""
    monkeypatch.setattr(ai_runner, "BUSY_PAUSES", ())
    store = AIJobStore(tmp_path / "g.sqlite")
    plans = [
        StagePlan("text-to-speech", "piper", {"text": "one"}),
        StagePlan("text-to-speech", "piper", {"text": "two"}),
        StagePlan("audio-to-text", "sphinx", {}, {"audio": 0}),
    ]
    store.add_job("j", "stages", plans)
    runner = ai_runner.AIJobRunner(store, Failing(), tmp_path / "out", tmp_path / "jobs")  # type: ignore[arg-type]

    async def go() -> None:
        runner.submit("j")
        await asyncio.wait_for(runner._tasks["j"], timeout=10)

    asyncio.run(go())
    job = store.job("j")
    assert job.state is AIJobState.FAILED
    assert [s.state for s in job.stages] == [StageState.FAILED] * 3
    assert "j-0 failed" in (job.error or "") and "j-1 failed" in (job.error or ""), job.error
    store.close()
