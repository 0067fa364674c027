"""The orchestrator's AI service: `POST /ai/{pipeline}` runs one job on its
`ModelHost` and answers with a signed result bundle (see `framemesh.wire.ai`).

    a form: request = the job's fields as JSON; image, audio, video = the input files
    (multipart; a job without a file may come urlencoded)
    200: application/x-tar (result.json, then the outputs, each C2PA-signed);
         llm: application/x-ndjson, the text as it is made, then usage and price
    404 unknown_model (the body lists what is served), 422 invalid_request,
    402 payment (on a chain), 503 worker_died (retry elsewhere), 503 busy (+ Retry-After:
    a running and a queued job per worker already), 500 ai_failed

On a chain the job costs price_per_unit x `request.units()`, paid with tickets like a
transcode: credited before the work, charged when the result is delivered. An LLM job
is paid for its bound and charged for the tokens it used (`llm_stream`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from framemesh.ai import (
    AIConfig,
    AIError,
    InvalidRequest,
    ModelHost,
    UnknownModel,
    build_request,
    checked_units,
)
from framemesh.ai.pipeline import Progress
from framemesh.ai.requests import with_default_frames
from framemesh.net.api_errors import ApiError, documented
from framemesh.net.body import limited
from framemesh.net.metrics import outcome_of
from framemesh.orchestrator.admission import ModelSlots
from framemesh.orchestrator.ai_jobs import AdmittedJob, job_error
from framemesh.orchestrator.ai_work import package_result
from framemesh.orchestrator.billing import Billing
from framemesh.orchestrator.llm_stream import stream_llm
from framemesh.orchestrator.metrics import OrchestratorMetrics
from framemesh.orchestrator.signing import SigningSpec
from framemesh.wire.ai import (
    FILE_PARTS,
    LLM_MEDIA_TYPE,
    MEDIA_TYPE,
    REQUEST_PART,
    AICapability,
    AIProgress,
)
from framemesh.wire.payment import PAYMENT_HEADER

log = logging.getLogger("framemesh.orchestrator")

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")  # the latter: no file
# Jobs a model takes per worker (one running, one queued); past that it answers 503 busy.
QUEUE_PER_WORKER = 2

RunInPool = Callable[[partial[Any]], Awaitable[Any]]


class AIService:
    """What the orchestrator holds for AI: the model host, and how it signs and bills."""

    def __init__(
        self,
        config: AIConfig,
        *,
        name: str,
        work_root: Path,
        signing: SigningSpec,
        billing: Billing | None,
        run_in_pool: RunInPool,
        max_request_bytes: int,
        timeout: float | None = None,
        metrics: OrchestratorMetrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics if metrics is not None else OrchestratorMetrics()
        self.host = ModelHost(config, timeout=timeout)
        self.name = name
        self.work_root = work_root
        self.signing = signing
        self.billing = billing
        self.run_in_pool = run_in_pool
        self.max_request_bytes = max_request_bytes
        self.jobs_done = 0
        self.fees_charged = 0
        self.slots = ModelSlots()  # jobs running or queued, per model
        self.progress: dict[str, Progress] = {}  # job id → how far its worker is

    async def start(self) -> None:
        self.work_root.mkdir(parents=True, exist_ok=True)
        await self.host.start()

    async def stop(self) -> None:
        await self.host.stop()

    def capabilities(self) -> list[AICapability]:
        return [AICapability(**vars(s), admits=QUEUE_PER_WORKER * s.capacity) for s in self.host.status()]

    def served(self) -> list[dict[str, str]]:
        return [{"pipeline": s.pipeline, "model_id": s.model_id} for s in self.config.models]

    async def run(self, pipeline: str, request: Request) -> Response:
        try:
            job = await self.admit(pipeline, request)
            if pipeline == "llm":
                return await stream_llm(job, self.host, self.billing, self.name, self._delivered)
            try:
                return await self._run(pipeline, job)
            except BaseException:
                self._undelivered(job)
                raise
        except BaseException as exc:
            # "ok" is counted on delivery; the model is known once admission found it served
            self.metrics.ai_request(pipeline, getattr(request.state, "ai_model", None), outcome_of(exc))
            raise

    async def _run(self, pipeline: str, job: AdmittedJob) -> Response:
        started = time.time()
        try:
            result = await self.host.run(pipeline, job.spec.model_id, job.request, partial(self._progressed, job.id))
            self.metrics.ai_seconds.labels(pipeline).observe(time.time() - started)
        except AIError as exc:
            raise job_error(exc, pipeline, job.id) from exc
        finally:
            job.slot.release()
            self.progress.pop(job.id, None)
        work_dir = Path(tempfile.mkdtemp(prefix="ai-", dir=self.work_root))
        try:
            bundle = await self.run_in_pool(
                partial(
                    package_result, pipeline, job.spec.model_id, result, job.inputs, work_dir, self.signing,
                    job_id=job.id, units=job.units, price=job.price if self.billing is not None else 0,
                    orchestrator=self.name, started=started, parameters=getattr(job.request, "params", None),
                )
            )
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        self._delivered(job, None)
        return FileResponse(
            bundle, media_type=MEDIA_TYPE, background=BackgroundTask(shutil.rmtree, work_dir, ignore_errors=True)
        )

    def _delivered(self, job: AdmittedJob, price: int | None) -> int:
        """The work is delivered: settle its reservation for `price` (all of it by default)."""
        self.jobs_done += 1
        self.metrics.ai_request(job.spec.pipeline, job.spec.model_id, "ok")
        charged = 0
        if self.billing is not None and job.held is not None:
            charged = self.billing.settle(job.held, price)
            self.fees_charged += charged
        return charged

    def _undelivered(self, job: AdmittedJob) -> None:
        job.slot.release()
        if self.billing is not None and job.held is not None:
            self.billing.release(job.held)

    def _progressed(self, job_id: str, piece: Any) -> None:
        """A worker's report while it runs (called from a host thread)."""
        if isinstance(piece, Progress):
            self.progress[job_id] = piece

    async def admit(self, pipeline: str, request: Request) -> AdmittedJob:
        """Read and check the job, take a slot of its model, then reserve its payment."""
        fields, inputs = await self._read(request)
        job = _request_job(request)
        try:
            ai_request = build_request(pipeline, {**fields, **inputs})
            spec = self.config.find(pipeline, ai_request.model_id)
            if spec is None:
                raise UnknownModel(
                    f"no {pipeline} model {ai_request.model_id!r} here; served: "
                    + (", ".join(f"{m['pipeline']} {m['model_id']!r}" for m in self.served()) or "nothing")
                )
            request.state.ai_model = spec.model_id
            ai_request = with_default_frames(ai_request, spec.default_frames)
            units = await asyncio.to_thread(checked_units, ai_request, self.host.limits)
        except UnknownModel as exc:
            raise ApiError(404, "unknown_model", str(exc), extra={"models": self.served()}) from exc
        except InvalidRequest as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc
        # The slot is taken before the payment's await: requests that arrive together
        # cannot all pass a check of the queue made before any of them is counted.
        slot = self.slots.take(spec.key, QUEUE_PER_WORKER * spec.capacity, f"{pipeline} {spec.model_id!r}")
        price = spec.price_per_unit * units
        held = None
        if self.billing is not None:
            try:
                held = await self.billing.take_payment(request.headers.get(PAYMENT_HEADER), price)
            except BaseException:
                slot.release()
                raise
        return AdmittedJob(job, spec, ai_request, fields, inputs, units, price, slot, held)

    async def _read(self, request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        request = limited(request, self.max_request_bytes)
        if not request.headers.get("content-type", "").startswith(FORM_TYPES):
            raise ApiError(415, "unsupported_media_type", "send the job as a form: multipart/form-data (request + file)")
        form = await request.form(max_files=len(FILE_PARTS), max_fields=4)
        try:
            raw = form.get(REQUEST_PART)
            if not isinstance(raw, str):
                raise ApiError(422, "invalid_request", f"the form has no {REQUEST_PART!r} field")
            try:
                fields = json.loads(raw)
            except ValueError as exc:
                raise ApiError(422, "invalid_request", f"{REQUEST_PART!r} is not JSON: {exc}") from exc
            if not isinstance(fields, dict):
                raise ApiError(422, "invalid_request", f"{REQUEST_PART!r} must be a JSON object")
            inputs = {}
            for name in FILE_PARTS:
                part = form.get(name)
                if isinstance(part, UploadFile):
                    inputs[name] = await part.read()
        finally:
            await form.close()
        return fields, inputs


def _request_job(request: Request) -> str:
    job = request.query_params.get("job_id", "")
    return job[:128] if job else uuid.uuid4().hex


def install_ai_routes(app: FastAPI, service: AIService | None) -> None:
    """Mount `POST /ai/{pipeline}`; without AI (no --ai-config) it answers 404."""

    @app.post(
        "/ai/{pipeline}",
        response_class=Response,
        responses={
            200: {
                "content": {MEDIA_TYPE: {}, LLM_MEDIA_TYPE: {}},
                "description": "A tar bundle: result.json, then the signed outputs. llm: JSON lines, "
                "{\"delta\"} per piece of text, then {\"done\"} (usage, price, signature).",
            },
            **documented(400, 402, 413, 415, 422),
            404: {**documented(404)[404], "description": "No such pipeline or model here; `detail.models` lists what is served."},
            503: {**documented(503)[503], "description": "At capacity, or the worker died mid-job; retry (elsewhere)."},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": [REQUEST_PART],
                            "properties": {
                                REQUEST_PART: {"type": "string", "description": "The job's fields, JSON."},
                                "image": {"type": "string", "format": "binary"},
                                "audio": {"type": "string", "format": "binary"},
                                "video": {"type": "string", "format": "binary"},
                            },
                        }
                    }
                },
            }
        },
    )
    async def run_ai(pipeline: str, request: Request) -> Response:
        """Run one AI job (internal: gateways call this)."""
        if service is None:
            raise ApiError(404, "unknown_model", "this orchestrator serves no AI pipelines", extra={"models": []})
        return await service.run(pipeline, request)

    @app.get("/ai/progress/{job_id}", response_model=AIProgress, responses=documented(404, 422))
    async def ai_progress(job_id: str) -> AIProgress:
        """How far a running AI job is (denoising steps), for the gateway that sent it."""
        progress = service.progress.get(job_id) if service is not None else None
        if progress is None:
            raise ApiError(404, "not_running", f"no AI job {job_id!r} is running here (unknown, finished, or not begun)")
        return AIProgress(job_id=job_id, done=progress.done, total=progress.total, phase=progress.phase,
                          phases=progress.phases, fraction=round(progress.fraction, 4))
