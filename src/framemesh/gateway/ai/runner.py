"""Runs AI jobs and records them: every Livepeer API request, and staged jobs whose
stages run one after another, each on the orchestrator that serves it best.

Each stage is recorded running before it is sent and done only after its checked
outputs are on disk, so `resume()` after a restart carries a staged job on from its
first unfinished stage. A Livepeer request is synchronous: its client's connection
died with the gateway, so one left running is marked failed, never run twice.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from functools import partial
from pathlib import Path
from typing import Any

from framemesh.ai import InvalidRequest, build_request, checked_units
from framemesh.ai.cache import request_key
from framemesh.ai.requests import with_default_frames
from framemesh.gateway.core.leases import Lease
from framemesh.gateway.core.takeover import JobTasks
from framemesh.gateway.core.uploads import Uploader
from framemesh.gateway.errors import LeaseLost
from framemesh.gateway.core.keys import KeyStore
from framemesh.gateway.ai.dispatch import (
    AIDispatcher,
    NoOrchestrator,
    OrchestratorRefused,
)
from framemesh.gateway.ai.jobs import (
    AIJobState,
    InvalidPlan,
    StagePlan,
    StageState,
    feed,
)
from framemesh.gateway.ai.directory import AIDirectory
from framemesh.gateway.ai.store import AIJobRecord, AIJobStore, StageRecord
from framemesh.wire.ai import AIResult

log = logging.getLogger("framemesh.gateway")

# A staged job waits for an orchestrator this long (doubling pauses) before it fails:
# unlike a client on the line, it can afford to wait out a busy network.
BUSY_PAUSES = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def build_for_network(directory: AIDirectory, pipeline: str, fields: dict[str, Any]) -> Any:
    """The request for `fields`, with what the serving orchestrators fill in when a client
    leaves it out made explicit (image-to-video's frames), so both sides count the same
    units. Raises InvalidRequest."""
    request = build_request(pipeline, fields)
    return with_default_frames(request, directory.default_frames(pipeline, str(fields.get("model_id", ""))))


class AIJobRunner(JobTasks):
    KIND = "AI job"

    def __init__(
        self, store: AIJobStore, dispatcher: AIDispatcher, outputs_dir: Path, jobs_dir: Path, *, result_cache: bool = True,
        keys: KeyStore | None = None, uploader: Uploader | None = None, lease: Lease | None = None,
    ) -> None:
        self.lease = lease  # what this gateway holds its jobs under (`core.leases`)
        self.result_cache = result_cache
        self.uploader = uploader  # each stage's outputs, once checked, go to the object store (if any)
        self.keys = keys  # whose each job is: its stages are charged to that key, and wait in its line
        self.store = store
        self.dispatcher = dispatcher
        self.outputs_dir = outputs_dir
        self.jobs_dir = jobs_dir
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # (job, stage) → 0..1 of a running stage, as its orchestrator reports it. Not
        # kept on disk: after a restart the stage starts again from nothing anyway.
        self.progress: dict[tuple[str, int], float] = {}


    def claim(self, *, own: bool = False) -> list[str]:
        """Claim the jobs no gateway holds (blocking): fail the requests among them (their
        clients' connections died with the gateway that ran them), requeue the stages the
        staged ones left running; the staged ones' ids, to carry on."""
        ids = self.store.leases.claim(self.lease, limit=1000 if own else 20, own=own) if self.lease is not None else \
            [job.id for job in self.store.jobs(unfinished_only=True)]
        staged = []
        for job in [self.store.job(i) for i in ids if not self.running(i)]:
            if job.kind == "request":
                for stage in job.stages:
                    if stage.state is StageState.RUNNING:
                        self.store.fail_stage(job.id, stage.index)
                self.store.set_job_state(
                    job.id, AIJobState.FAILED, error="the gateway running the request stopped (its client's connection went with it)"
                )
                continue
            requeued = self.store.requeue_running(job.id)
            log.info("resuming AI job %s (%d stage(s) requeued)", job.id, requeued)
            staged.append(job.id)
        return staged

    def take(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            self.submit(job_id)


    def submit(self, job_id: str) -> None:
        if job_id in self._tasks and not self._tasks[job_id].done():
            return
        task = self._tasks[job_id] = asyncio.create_task(self._run_job(job_id), name=f"ai-job-{job_id}")
        task.add_done_callback(lambda done: self._tasks.pop(job_id, None) if self._tasks.get(job_id) is done else None)

    def uploads_dir(self, job_id: str) -> Path:
        """Where a staged job's uploaded inputs wait for the stages that read them."""
        return self.jobs_dir / f"ai-{job_id}"

    def dirs(self, job_id: str) -> list[Path]:
        """Everything a job fills on disk (what retention deletes)."""
        return [self.outputs_dir / "ai" / job_id, self.uploads_dir(job_id)]

    async def cancel(self, job_id: str) -> AIJobRecord:
        """Stop a staged job: its running stage's answer is dropped (the orchestrator may
        finish it, and was paid for it), no further stage starts. Raises JobNotFound;
        a job that has ended is returned as it is."""
        job = await asyncio.to_thread(self.store.job, job_id)
        if job.state.terminal:
            return job
        task = self._tasks.get(job_id)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        job = await asyncio.to_thread(self.store.job, job_id)
        if job.state.terminal:  # it ended just before the cancel reached it
            return job
        for stage in job.stages:
            if stage.state in (StageState.PENDING, StageState.RUNNING):
                await asyncio.to_thread(self.store.fail_stage, job_id, stage.index)
        cancelled = await asyncio.to_thread(
            self.store.set_job_state, job_id, AIJobState.CANCELLED, error="cancelled by its client"
        )
        await asyncio.to_thread(shutil.rmtree, self.uploads_dir(job_id), ignore_errors=True)
        if self.uploader is not None:
            await asyncio.to_thread(self.uploader.forget, self.uploads_dir(job_id))
        return cancelled

    async def shutdown(self) -> None:
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def output_dir(self, job: AIJobRecord, index: int) -> Path:
        base = self.outputs_dir / "ai" / job.id
        return base if job.kind == "request" else base / f"stage-{index}"

    # a Livepeer API request: one stage, run while its client waits

    async def run_request(
        self, job_id: str, pipeline: str, model_id: str, fields: dict[str, Any], request: Any, units: int
    ) -> tuple[AIResult, dict[str, Path]]:
        params = {k: v for k, v in fields.items() if not isinstance(v, bytes)}
        plan = StagePlan(pipeline, model_id, params)
        answer = self.recall(pipeline, model_id, request)
        if answer is not None:  # the same request was answered before: no orchestrator, no payment
            result, files, earlier = answer
            await asyncio.to_thread(
                partial(self.store.add_done, job_id, plan, orchestrator=earlier.orchestrator, units=earlier.units,
                        result=result.model_dump(mode="json"), files=earlier.files)
            )
            await asyncio.to_thread(self.charge, job_id, units, 0)
            return result, files
        job = await asyncio.to_thread(
            partial(self.store.add_job, job_id, "request", [plan], running=True, lease=self.lease)
        )
        try:
            return await self._run_stage(job, job.stages[0], request, units, started=True)
        except BaseException as exc:
            self._fail(job_id, [0], _message(exc))
            raise

    # a staged job, in the background

    async def _run_job(self, job_id: str) -> None:
        try:
            await self._run_stages(job_id)
        except LeaseLost as exc:
            log.warning("%s", exc)
            return
        if (await asyncio.to_thread(self.store.job, job_id)).state.terminal:
            await asyncio.to_thread(shutil.rmtree, self.uploads_dir(job_id), ignore_errors=True)
            if self.uploader is not None:  # and the store's copy of its uploads
                await asyncio.to_thread(self.uploader.forget, self.uploads_dir(job_id))

    async def _run_stages(self, job_id: str) -> None:
        try:
            other = self.store.leases.take(self.lease, job_id) if self.lease is not None else None
            if other is not None:
                raise LeaseLost(f"AI job {job_id}: gateway {other} holds it")
            job = self.store.job(job_id)
            if job.state.terminal:  # cancelled before it started: nothing to run
                return
            self.store.set_job_state(job_id, AIJobState.RUNNING)
            plans = job.plans()
            outputs = {s.index: self._output_of(s) for s in job.stages if s.state is StageState.DONE}
            remaining = [s for s in job.stages if s.state is not StageState.DONE]
            while remaining:
                # Inputs only name earlier stages, so some stage is always ready; stages
                # ready together run side by side (on different orchestrators).
                ready = [s for s in remaining if all(src in outputs for src in s.inputs.values())]
                done = await asyncio.gather(*(self._stage(job, s, plans[s.index], outputs) for s in ready),
                                            return_exceptions=True)
                failures = []
                for stage, outcome in zip(ready, done):
                    if isinstance(outcome, (asyncio.CancelledError, LeaseLost)):
                        raise outcome
                    if isinstance(outcome, BaseException):
                        failures.append(f"stage {stage.index} ({stage.pipeline}): {_message(outcome)}")
                    else:
                        outputs[stage.index] = outcome
                if failures:
                    # Every stage that failed beside it, and every one that will now never
                    # start, ends failed with the job: none is left running or pending.
                    self._fail(job_id, [s.index for s in remaining if s.index not in outputs], "; ".join(failures))
                    return
                remaining = [s for s in remaining if s not in ready]
            self.store.set_job_state(job_id, AIJobState.COMPLETED)
        except (asyncio.CancelledError, LeaseLost):
            raise  # shutting down, or taken over: the job goes on here after a restart, or there
        except Exception as exc:  # a bug: fail the job loudly rather than leave it hanging
            log.exception("AI job %s crashed", job_id)
            self._fail(job_id, None, f"internal error: {exc}")

    async def _stage(
        self, job: AIJobRecord, stage: StageRecord, plan: StagePlan, outputs: dict[int, dict[str, Any]]
    ) -> dict[str, Any]:
        fields = {**feed(plan, outputs), "model_id": stage.model_id}
        for key, value in fields.items():
            if isinstance(value, Path):  # an earlier stage's output, read only now that it is needed
                if self.uploader is not None:  # made on another gateway's machine: the store's copy
                    await asyncio.to_thread(self.uploader.fetch, value)
                fields[key] = await asyncio.to_thread(value.read_bytes)
        for key in plan.uploads:
            path = job.uploads / key if job.uploads is not None else None
            if path is not None and not path.is_file() and self.uploader is not None:
                # taken over from a gateway on another machine: the store's copy, here
                path = self.uploads_dir(job.id) / key
                await asyncio.to_thread(self.uploader.fetch, path)
            if path is None or not path.is_file():
                raise InvalidPlan(f"the uploaded {key} of job {job.id} is gone from {path}")
            fields[key] = await asyncio.to_thread(path.read_bytes)
        request = build_for_network(self.dispatcher.directory, stage.pipeline, fields)
        units = await asyncio.to_thread(checked_units, request)
        result, files = await self._run_waiting(job, stage, request, units)
        return {"text": result.text, "file": files[result.outputs[0].file] if result.outputs else None}

    async def _run_waiting(self, job: AIJobRecord, stage: StageRecord, request: Any, units: int) -> tuple[AIResult, dict[str, Path]]:
        for pause in (*BUSY_PAUSES, None):
            try:
                return await self._run_stage(job, stage, request, units)
            except NoOrchestrator as exc:
                # The models were offered when the job was accepted: a 404 now means their
                # orchestrators are gone for a moment (restarting, unreachable), so wait too.
                if pause is None:
                    raise
                log.info("AI job %s stage %d waits %g s: %s", job.id, stage.index, pause, exc)
                # This stage only: a sibling stage running beside it is still running.
                await asyncio.to_thread(self.store.requeue_stage, job.id, stage.index)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    def recall(self, pipeline: str, model_id: str, request: Any) -> tuple[AIResult, dict[str, Path], StageRecord] | None:
        """The checked outputs of an earlier stage that ran this exact request (same model,
        fields, seed and inputs), if the gateway keeps a result cache and has them."""
        key = request_key(pipeline, model_id, request) if self.result_cache else None
        earlier = self.store.recall(key) if key is not None else None
        if key is None or earlier is None or earlier.result is None:
            return None
        files = {name: self.outputs_dir / rel for name, rel in earlier.files.items()}
        if not all(path.is_file() for path in files.values()):
            self.store.forget(key)  # its outputs were cleaned up
            return None
        info = {**(earlier.result.get("info") or {}), "cache": "gateway", "answered_by_job": earlier.job_id}
        return AIResult.model_validate({**earlier.result, "price": 0, "info": info}), files, earlier

    async def _run_stage(
        self, job: AIJobRecord, stage: StageRecord, request: Any, units: int, *, started: bool = False
    ) -> tuple[AIResult, dict[str, Path]]:
        """Run one stage and record it done; a request (`started`: recorded running) is
        completed with it, in the same transaction."""
        answer = None if started else self.recall(stage.pipeline, stage.model_id, request)
        if not started:
            await asyncio.to_thread(self.store.start_stage, job.id, stage.index, self.lease)
        if answer is not None:
            result, files, earlier = answer
            await asyncio.to_thread(
                partial(self.store.finish_stage, job.id, stage.index, orchestrator=earlier.orchestrator or "",
                        units=units, result=result.model_dump(mode="json"), files=earlier.files)
            )
            await asyncio.to_thread(self.charge, job.id, units, 0)
            return result, files
        out_dir = self.output_dir(job, stage.index)
        if out_dir.exists() and job.kind != "request":
            shutil.rmtree(out_dir)  # left by a gateway that died before recording the stage done
        stage_job_id = job.id if job.kind == "request" else f"{job.id}-{stage.index}"
        key = (job.id, stage.index)
        owner = await asyncio.to_thread(self.keys.owner, job.id) if self.keys is not None else None
        try:
            result, files, url = await self.dispatcher.run(
                stage.pipeline, stage.model_id, request, units, out_dir, stage_job_id,
                on_progress=lambda fraction: self.progress.__setitem__(key, fraction), key=owner or "",
            )
        finally:
            self.progress.pop(key, None)
        if self.uploader is not None:  # recorded before the stage is done: a crash between uploads it anyway
            await self.uploader.add(files.values())
        await asyncio.to_thread(
            partial(
                self.store.finish_stage, job.id, stage.index, orchestrator=url, units=units,
                result=result.model_dump(mode="json"),
                files={name: path.relative_to(self.outputs_dir).as_posix() for name, path in files.items()},
                key=request_key(stage.pipeline, stage.model_id, request) if self.result_cache else None,
                completes_job=started,
            )
        )
        await asyncio.to_thread(self.charge, job.id, units, result.price)
        return result, files

    def charge(self, job_id: str, units: int, wei: int) -> None:
        """Account delivered work to the job's API key, if it has one."""
        if self.keys is not None:
            self.keys.charge(job_id, units, wei)

    def _output_of(self, stage: StageRecord) -> dict[str, Any]:
        result = stage.result or {}
        outputs = result.get("outputs") or []
        first = stage.files.get(outputs[0]["file"]) if outputs else None
        return {"text": result.get("text"), "file": self.outputs_dir / first if first else None}

    def _fail(self, job_id: str, indexes: list[int] | None, message: str) -> None:
        """Fail the job and those of its stages not ended yet (`indexes`; None: all)."""
        try:
            job = self.store.job(job_id)
            for index in range(len(job.stages)) if indexes is None else indexes:
                if not job.stages[index].state.terminal:
                    self.store.fail_stage(job_id, index)
            if not job.state.terminal:
                self.store.set_job_state(job_id, AIJobState.FAILED, error=message)
        except Exception:  # recording the failure must not hide the error that caused it
            log.exception("could not record the failure of AI job %s", job_id)


def _message(exc: BaseException) -> str:
    if isinstance(exc, (NoOrchestrator, OrchestratorRefused, InvalidRequest, InvalidPlan)):
        return str(exc)
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled (the client went away or the gateway stopped)"
    return f"{type(exc).__name__}: {exc}"

