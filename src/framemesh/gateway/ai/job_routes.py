"""The gateway's AI job API (framemesh): staged jobs, and the record of every AI job.

    POST /ai/jobs        {"stages": [{"pipeline", "model_id"?, "params"?, "id"?, "inputs"?}, ...]}
                         (JSON; or multipart with a `stages` JSON field and the files
                         the stages read: `image`, `audio`) → 202 {"id", "status_url"}
    GET  /ai/jobs        every AI job, Livepeer API requests included, newest last
    GET  /ai/jobs/{id}   state, progress, and each stage's orchestrator, price and outputs

The stages form a graph: a stage's inputs are earlier stages' outputs (by default the
stage before it); stages that wait on nothing unfinished run side by side, and each
goes to the orchestrator that serves its pipeline and model best, so one job's stages
run on different nodes. Everything is checked before the job is accepted: the graph,
every model offered by some orchestrator, every stage's fields (with a stand-in for
an input another stage will make), the uploads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import uuid
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from PIL import Image

from framemesh.ai import InvalidRequest, checked_units
from framemesh.ai.media import encode_png, encode_video, encode_wav
from framemesh.gateway.ai.jobs import (
    InvalidPlan,
    StagePlan,
    StageState,
    parse_plan,
    sinks,
    uploads,
)
from framemesh.gateway.ai.routes import AIRoutes
from framemesh.gateway.ai.runner import AIJobRunner, build_for_network
from framemesh.gateway.ai.directory import AIDirectory
from framemesh.gateway.ai.store import AIJobRecord, StageRecord
from framemesh.gateway.auth import GUARDED, caller_of
from framemesh.gateway.config import MAX_OFFSET, MAX_PAGE, PAGE
from framemesh.gateway.errors import JobNotFound
from framemesh.net.api_errors import ApiError, ErrorBody, documented
from framemesh.wire.ai import HTTPValidationError
from framemesh.wire.gateway import (
    AIJobAccepted,
    AIJobStatus,
    AIOutputOut,
    AIStageStatus,
)

# Its body is read as the AI routes' (a body that is not a JSON object: Livepeer's
# validation list); a plan that cannot run is the usual {msg, code}.
_JOB_INVALID = {422: {"model": ErrorBody | HTTPValidationError, "description": "The body or its stages are not valid."}}
_JOB_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["stages"],
                    "properties": {
                        "stages": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["pipeline"],
                                "properties": {
                                    "pipeline": {"type": "string", "example": "text-to-image"},
                                    "model_id": {"type": "string"},
                                    "params": {"type": "object", "description": "The pipeline's request fields."},
                                },
                            },
                        }
                    },
                },
                "example": {"stages": [
                    {"pipeline": "text-to-image", "params": {"prompt": "a lighthouse", "width": 256, "height": 256, "seed": 1}},
                    {"pipeline": "upscale"},
                ]},
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["stages"],
                    "properties": {
                        "stages": {"type": "string", "description": "The stages, as JSON."},
                        "image": {"type": "string", "format": "binary"},
                        "audio": {"type": "string", "format": "binary"},
                        "video": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    }
}


def _stand_in(kind: str) -> Any:
    """An input of the right kind, to check a stage's other fields before its input exists."""
    if kind == "image":
        return encode_png(Image.new("RGB", (64, 64)))
    if kind == "audio":
        return encode_wav(np.zeros(16_000, dtype=np.int16), 16_000)
    if kind == "video":
        return encode_video([Image.new("RGB", (64, 64))] * 2, 6)
    return "a stand-in text"


def _check_stages(directory: AIDirectory, plans: list[StagePlan], files: dict[str, bytes]) -> None:
    for n, plan in enumerate(plans):
        fields = {**plan.params, "model_id": plan.model_id}
        for key, source in plan.inputs.items():
            fields[key] = _stand_in(plans[source].produces())
        for key in plan.uploads:
            fields[key] = files[key]
        try:
            checked_units(build_for_network(directory, plan.pipeline, fields))
        except InvalidRequest as exc:
            raise InvalidPlan(f"stages[{n}] ({plan.pipeline}): {exc}") from exc


def _write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _outputs(stage: StageRecord) -> list[AIOutputOut]:
    result = stage.result or {}
    return [
        AIOutputOut(url="/outputs/" + stage.files[o["file"]], kind=o["kind"], seed=o["seed"], nsfw=o["nsfw"])
        for o in result.get("outputs", [])
        if o["file"] in stage.files
    ]


def job_status(job: AIJobRecord, running: Mapping[tuple[str, int], float] | None = None) -> AIJobStatus:
    """A job's public status; `running` holds the reported progress of running stages."""
    reports = running or {}

    def stage_progress(s: StageRecord) -> float:
        if s.state is StageState.DONE:
            return 1.0
        return reports.get((job.id, s.index), 0.0) if s.state is StageState.RUNNING else 0.0

    stages = [
        AIStageStatus(
            index=s.index, pipeline=s.pipeline, model_id=s.model_id, state=s.state.value, attempts=s.attempts,
            orchestrator=s.orchestrator, units=s.units, price=s.price,
            seconds=None if s.started is None or s.finished is None else round(max(0.0, s.finished - s.started), 3),
            progress=round(stage_progress(s), 4),
            outputs=_outputs(s), text=(s.result or {}).get("text"), chunks=(s.result or {}).get("chunks") or [],
        )
        for s in job.stages
    ]
    results = [stages[n] for n in sinks(job.plans())] if job.state.value == "completed" else []
    texts = [s.text for s in results if s.text is not None]
    total = 1.0 if job.state.value == "completed" else sum(s.progress for s in stages) / max(1, len(stages))
    return AIJobStatus(
        id=job.id, kind=job.kind, state=job.state.value, progress=round(min(1.0, total), 4),
        created=job.created, updated=job.updated, error=job.error, stages=stages,
        outputs=[o for s in results for o in s.outputs], text=texts[-1] if texts else None,
    )


def install_ai_job_routes(app: FastAPI, routes: AIRoutes, runner: AIJobRunner) -> None:
    auth = [Depends(routes.authorize)]
    directory = routes.dispatcher.directory

    async def visible(job_id: str, request: Request) -> AIJobRecord:
        """The job, if the caller may see it (JobNotFound otherwise)."""
        if not await routes.authorize.sees(caller_of(request), job_id):
            raise JobNotFound(job_id)
        return await asyncio.to_thread(runner.store.job, job_id)

    @app.post("/ai/jobs", status_code=202, response_model=AIJobAccepted, tags=["jobs"], dependencies=auth,
              openapi_extra=_JOB_BODY, responses={**GUARDED, **documented(400, 404, 413), **_JOB_INVALID})
    async def submit_ai_job(request: Request) -> AIJobAccepted:
        """Run AI stages one after another, each output feeding the next; answers at once with the job's id."""
        raw = await routes.fields("ai-jobs", request)
        stages = raw.get("stages")
        if isinstance(stages, str) and request.headers.get("content-type", "").startswith("multipart/"):
            try:
                stages = json.loads(stages)
            except ValueError as exc:
                raise ApiError(422, "invalid_request", f"stages is not JSON: {exc}") from exc
        try:
            plans = parse_plan(stages, {k for k, v in raw.items() if isinstance(v, bytes)})
        except InvalidPlan as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc
        offers = directory.offers()
        offered = {(o["pipeline"], o["model_id"]) for o in offers}
        resolved = []
        for n, plan in enumerate(plans):
            model_id = plan.model_id or directory.default_model(plan.pipeline) or ""
            if (plan.pipeline, model_id) not in offered:
                what = f"model {model_id!r}" if model_id else "any model"
                raise ApiError(404, "unknown_model", f"stages[{n}]: no orchestrator serves {plan.pipeline} {what}",
                               extra={"models": offers})
            resolved.append(dataclasses.replace(plan, model_id=model_id))
        files = {key: raw[key] for key in uploads(resolved)}
        try:
            await asyncio.to_thread(_check_stages, directory, resolved, files)
        except InvalidPlan as exc:
            raise ApiError(422, "invalid_request", str(exc)) from exc
        job_id = uuid.uuid4().hex[:16]
        upload_dir = runner.uploads_dir(job_id) if files else None
        for key, data in files.items():
            await asyncio.to_thread(_write_durably, runner.uploads_dir(job_id) / key, data)
        await routes.authorize.claim(caller_of(request), "ai", job_id)
        await asyncio.to_thread(partial(runner.store.add_job, job_id, "stages", resolved, upload_dir, lease=runner.lease))
        if runner.uploader is not None and upload_dir is not None:  # for a takeover on another machine
            await runner.uploader.add([upload_dir / key for key in files])
        runner.submit(job_id)
        return AIJobAccepted(id=job_id, state="queued", status_url=f"/ai/jobs/{job_id}")

    @app.get("/ai/jobs", response_model=list[AIJobStatus], tags=["jobs"], dependencies=auth,
             responses={**GUARDED, **documented(422)})
    async def list_ai_jobs(
        request: Request, limit: int = Query(default=PAGE, ge=1, le=MAX_PAGE), offset: int = Query(default=0, ge=0, le=MAX_OFFSET)
    ) -> list[AIJobStatus]:
        """The AI jobs this gateway has run or runs (with an API key: its own), Livepeer API
        requests and staged jobs, newest first, a page at a time."""
        owner = caller_of(request).owner
        jobs = await asyncio.to_thread(partial(runner.store.jobs, limit=limit, offset=offset, owner=owner))
        return [job_status(j, runner.progress) for j in jobs]

    @app.delete("/ai/jobs/{job_id}", response_model=AIJobStatus, tags=["jobs"], dependencies=auth,
                responses={**GUARDED, **documented(404, 409, 422)})
    async def cancel_ai_job(job_id: str, request: Request) -> AIJobStatus:
        """Cancel a staged job: no further stage starts; a job that has ended is left as it is (409)."""
        try:
            job = await visible(job_id, request)
            if job.kind != "stages":
                raise ApiError(409, "not_cancellable", f"job {job_id} is a request answered while its client waited")
            if job.state.terminal:
                raise ApiError(409, "ended", f"job {job_id} has already ended: {job.state.value}")
            return job_status(await runner.cancel(job_id), runner.progress)
        except JobNotFound as exc:
            raise ApiError(404, "job_not_found", str(exc)) from exc

    @app.get("/ai/jobs/{job_id}", response_model=AIJobStatus, tags=["jobs"], dependencies=auth,
             responses={**GUARDED, **documented(404, 422)})
    async def get_ai_job(job_id: str, request: Request) -> AIJobStatus:
        try:
            return job_status(await visible(job_id, request), runner.progress)
        except JobNotFound as exc:
            raise ApiError(404, "job_not_found", str(exc)) from exc
