"""The gateway's video-on-demand API: upload a video, answer with a job id at once,
follow the job, fetch the ladder from /outputs/.

    POST /jobs              multipart: file, profiles → 202 {id, state, status_url}
    GET  /jobs              newest first, a page at a time (limit, offset)
    GET  /jobs/{id}         state, progress, segments, errors, orchestrators, outputs
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Query, Request
from starlette.datastructures import UploadFile

from framemesh.gateway.auth import GUARDED, caller_of
from framemesh.gateway.config import MAX_OFFSET, MAX_PAGE, PAGE, GatewayConfig
from framemesh.gateway.errors import JobNotFound
from framemesh.gateway.vod.jobs import JobState, progress
from framemesh.gateway.vod.store import JobRecord, JobStore
from framemesh.media.errors import MediaError, UnknownProfileError
from framemesh.media.probe import probe
from framemesh.media.profiles import parse_profiles
from framemesh.net.api_errors import ApiError, documented
from framemesh.net.body import limited
from framemesh.wire.gateway import JobAccepted, JobErrorOut, JobOutputs, JobStatus, SegmentCounts

if TYPE_CHECKING:
    from framemesh.gateway.app import Gateway

UPLOAD_TYPES = ("video/", "application/octet-stream")
# What a form adds around its file: field names, boundaries, small text fields.
FORM_OVERHEAD = 64 * 1024


def job_status(
    config: GatewayConfig, store: JobStore, job: JobRecord, stored: Callable[[str], list[str]] = lambda prefix: [],
) -> JobStatus:
    """A job as the API shows it (reads the store and the outputs directory: call off the
    loop). A ladder another gateway assembled is listed from the object store's records."""
    done = store.count_done(job.id)
    outputs = None
    if job.state is JobState.COMPLETED and job.master:
        out_dir = config.outputs_dir / job.id
        keys = [p.relative_to(config.outputs_dir).as_posix() for p in out_dir.rglob("*") if p.is_file()] \
            or stored(f"{job.id}/")
        outputs = JobOutputs(master=f"/outputs/{job.master}", files=sorted("/outputs/" + k for k in keys))
    return JobStatus(
        id=job.id,
        state=job.state.value,
        progress=1.0 if job.state is JobState.COMPLETED else progress(done, job.segments_total or 0),
        segments=SegmentCounts(done=done, total=job.segments_total),
        profiles=list(job.profiles),
        source_name=job.source_name,
        created=job.created,
        updated=job.updated,
        error=job.error,
        errors=[JobErrorOut(**e.__dict__) for e in store.errors(job.id)],
        orchestrators=store.work_by_orchestrator(job.id),
        outputs=outputs,
    )


def install_vod_routes(app: FastAPI, gateway: Gateway, auth: list[Any]) -> None:
    config, store, runner, access = gateway.config, gateway.store, gateway.runner, gateway.access
    stored = gateway.uploader.records.keys if gateway.objects.remote else (lambda prefix: [])

    @app.post(
        "/jobs",
        status_code=202,
        dependencies=auth,
        response_model=JobAccepted,
        responses={**GUARDED, **documented(400, 413, 415, 422)},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "profiles": {"type": "string", "example": "720p,480p,360p"},
                            },
                        }
                    }
                },
            }
        },
    )
    async def submit(request: Request) -> JobAccepted:
        """Upload a video to transcode into an HLS ladder; answers at once with the job's id."""
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("multipart/form-data"):
            raise ApiError(415, "unsupported_media_type", "send the video as multipart/form-data with a 'file' field")
        request = limited(request, config.max_upload_bytes + FORM_OVERHEAD, "the upload")
        form = await request.form(max_files=1, max_fields=8)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ApiError(422, "missing_file", "the form has no 'file' field with the video")
            part_type = upload.content_type or "application/octet-stream"
            if not part_type.startswith(UPLOAD_TYPES):
                raise ApiError(415, "unsupported_media_type", f"'file' must be a video, got {part_type}")
            raw_profiles = form.get("profiles")
            try:
                profiles = parse_profiles(
                    raw_profiles if isinstance(raw_profiles, str) and raw_profiles.strip() else list(config.default_profiles)
                )
            except UnknownProfileError as exc:
                raise ApiError(422, "unknown_profile", str(exc)) from exc
            job_id = uuid.uuid4().hex[:16]
            job_dir = runner.job_dir(job_id)
            job_dir.mkdir(parents=True)
            name = Path(upload.filename or "source").name
            source = job_dir / ("source" + (Path(name).suffix[:8] or ".bin"))
            try:
                size = await asyncio.to_thread(_save_upload, upload, source, config.max_upload_bytes)
                if size == 0:
                    raise ApiError(422, "invalid_media", "the uploaded file is empty")
                try:
                    await asyncio.get_running_loop().run_in_executor(gateway.executor, probe, source)
                except MediaError as exc:
                    raise ApiError(422, "invalid_media", str(exc)) from exc
            except BaseException:
                shutil.rmtree(job_dir, ignore_errors=True)
                raise
        finally:
            await form.close()
        await access.claim(caller_of(request), "transcode", job_id)
        await asyncio.to_thread(store.add_job, job_id, tuple(p.name for p in profiles), source, name, runner.lease)
        if runner.uploader is not None:  # for another gateway to take the job over, if this one dies
            await runner.uploader.add([source])
        runner.submit(job_id)
        return JobAccepted(id=job_id, state=JobState.QUEUED.value, status_url=f"/jobs/{job_id}")

    @app.get("/jobs", response_model=list[JobStatus], dependencies=auth, responses={**GUARDED, **documented(422)})
    async def list_jobs(
        request: Request, limit: int = Query(default=PAGE, ge=1, le=MAX_PAGE), offset: int = Query(default=0, ge=0, le=MAX_OFFSET)
    ) -> list[JobStatus]:
        """Transcoding jobs (with an API key: its own), newest first, a page at a time."""
        owner = caller_of(request).owner

        def page() -> list[JobStatus]:
            return [job_status(config, store, job, stored) for job in store.page(limit, offset, owner=owner)]

        return await asyncio.to_thread(page)

    @app.get("/jobs/{job_id}", response_model=JobStatus, dependencies=auth, responses={**GUARDED, **documented(404, 422)})
    async def get_job(job_id: str, request: Request) -> JobStatus:
        try:
            if not await access.sees(caller_of(request), job_id):
                raise JobNotFound(job_id)
            return await asyncio.to_thread(lambda: job_status(config, store, store.job(job_id), stored))
        except JobNotFound as exc:
            raise ApiError(404, "job_not_found", str(exc)) from exc


def _save_upload(upload: UploadFile, dest: Path, limit: int) -> int:
    size = 0
    upload.file.seek(0)
    with dest.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "too_large", f"the upload is larger than the {limit}-byte limit")
            out.write(chunk)
    return size
