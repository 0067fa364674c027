"""The gateway's AI API: Livepeer's AI gateway API, wire-compatible.

    POST /text-to-image    JSON        → {"images": [{"url", "seed", "nsfw"}]}
    POST /image-to-image   multipart   → {"images": [...]}
    POST /image-to-video   multipart   → {"images": [{"url": an MP4, ...}]} (as go-livepeer answers)
    POST /upscale          multipart   → {"images": [...]}
    POST /audio-to-text    multipart   → {"text", "chunks": [{"timestamp", "text"}]}
    POST /text-to-speech   JSON        → {"audio": {"url"}}
    GET  /ai/models        what the network offers (framemesh)

Every request is built and checked here (`framemesh.ai.build_request`,
`request.check`) before any orchestrator sees it: a malformed image or audio file, a
size or prompt over the limit, an impossible width or height is a 4xx that says so.
Fields a Livepeer client sends that framemesh does not use are ignored. With an
`api_token` configured, requests need `Authorization: Bearer TOKEN`. Outputs are
stored under the gateway's outputs directory and served from /outputs/ai/...
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import uuid
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from framemesh.net.schema import inline_schema
from framemesh.ai import InvalidRequest, checked_units
from framemesh.gateway.ai.dispatch import (
    AIDispatcher,
    NoOrchestrator,
    OrchestratorRefused,
)
from framemesh.gateway.ai.runner import AIJobRunner, build_for_network
from framemesh.gateway.auth import Access, caller_of
from framemesh.gateway.config import GatewayConfig
from framemesh.net.api_errors import ApiError
from framemesh.net.body import limited
from framemesh.wire.ai import (
    AudioResponse,
    AudioToTextForm,
    HTTPError,
    HTTPValidationError,
    ImageResponse,
    ImageToImageForm,
    ImageToVideoForm,
    TextResponse,
    TextToImageParams,
    TextToSpeechParams,
    UpscaleForm,
)

JSON_PIPELINES: dict[str, type[BaseModel]] = {"text-to-image": TextToImageParams, "text-to-speech": TextToSpeechParams}
FORM_PIPELINES: dict[str, type[BaseModel]] = {
    "image-to-image": ImageToImageForm,
    "image-to-video": ImageToVideoForm,
    "upscale": UpscaleForm,
    "audio-to-text": AudioToTextForm,
}
RESPONSES: dict[str, type[BaseModel]] = {
    "text-to-image": ImageResponse,
    "image-to-image": ImageResponse,
    "image-to-video": ImageResponse,
    "upscale": ImageResponse,
    "audio-to-text": TextResponse,
    "text-to-speech": AudioResponse,
}
# What a form adds around its files: field names, boundaries, small text fields.
FORM_OVERHEAD = 64 * 1024
# Text fields kept even when empty (so an empty prompt is refused with a message that says so).
_TEXT_FIELDS = {"prompt", "text", "negative_prompt", "model_id", "description"}
_ERROR_WORDS = {
    400: "The request cannot be run as sent (out of limits, an undecodable input); the message says why.",
    401: "Unauthorized",
    402: "The API key is over its spend limit; Retry-After says when it may spend again.",
    404: "No orchestrator serves the model; the body lists what the network offers.",
    413: "Request Entity Too Large",
    422: "A field is missing or of the wrong type (Livepeer's validation shape).",
    429: "The API key is over its rate or concurrency; retry after Retry-After.",
    500: "Internal Server Error",
    503: "No orchestrator could take the job now.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of Livepeer's AI routes for these statuses (all by default)."""
    return {
        s: {"model": HTTPValidationError if s == 422 else HTTPError, "description": _ERROR_WORDS[s]}
        for s in statuses or _ERROR_WORDS
    }


def retry_header(exc: NoOrchestrator) -> dict[str, str]:
    """Retry-After for a 503 that will pass (busy orchestrators, a full line)."""
    return {"Retry-After": str(max(1, math.ceil(exc.retry_after)))} if exc.retry_after else {}


def schema_error(msg: str, kind: str, *field: str) -> ApiError:
    """A request that breaks the route's schema: 422 in Livepeer's validation shape."""
    return ApiError(422, "invalid_request", msg, errors=[{"loc": ["body", *field], "msg": msg, "type": kind}])


def refused(exc: InvalidRequest) -> ApiError:
    """A field of the wrong type or missing is a 422 (validation shape); a well-formed
    request that cannot run (out of limits, an undecodable image) is a 400."""
    if exc.errors:
        return ApiError(422, "invalid_request", str(exc), errors=list(exc.errors))
    return ApiError(400, "invalid_request", str(exc))


_ERRORS = error_responses()


def _request_body(pipeline: str) -> dict[str, Any]:
    if pipeline in JSON_PIPELINES:
        content = {"application/json": {"schema": inline_schema(JSON_PIPELINES[pipeline])}}
    else:
        content = {"multipart/form-data": {"schema": inline_schema(FORM_PIPELINES[pipeline])}}
    return {"requestBody": {"required": True, "content": content}}


class AIRoutes:
    def __init__(self, config: GatewayConfig, dispatcher: AIDispatcher, runner: AIJobRunner, access: Access) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.runner = runner  # records every request in the job store (GET /ai/jobs)
        self.authorize = access

    async def fields(self, pipeline: str, request: Request) -> dict[str, Any]:
        """The request's fields, its JSON body or its form (uploaded files as bytes), read
        within the upload limit however the body is sent, with Livepeer's spellings
        brought to ours."""
        limit = self.config.ai_max_upload_bytes
        request = limited(request, limit + FORM_OVERHEAD)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            raw = await self._form(request, limit)
        else:
            try:
                raw = json.loads(await request.body() or b"{}")
            except ValueError as exc:
                raise schema_error(f"the body is not JSON: {exc}", "json_invalid") from exc
            if not isinstance(raw, dict):
                raise schema_error("the body must be a JSON object", "dict_type")
        fields = {k: v for k, v in raw.items() if not (v == "" and k not in _TEXT_FIELDS)}
        if fields.get("return_timestamps") == "sentence":  # Livepeer's name for the default
            fields["return_timestamps"] = "true"
        for key, value in fields.items():
            if isinstance(value, bool) and key == "return_timestamps":
                fields[key] = "true" if value else "false"
            elif isinstance(value, str) and value in ("True", "False") and key != "prompt":
                fields[key] = value.lower()
        return fields

    @staticmethod
    async def _form(request: Request, limit: int) -> dict[str, Any]:
        form = await request.form(max_files=4, max_fields=64)
        try:
            out: dict[str, Any] = {}
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read(limit + 1)
                    if len(data) > limit:
                        raise ApiError(413, "too_large", f"{key} is larger than the {limit}-byte limit")
                    out[key] = data
                else:
                    out[key] = value
            return out
        finally:
            await form.close()

    async def handle(self, pipeline: str, request: Request) -> dict[str, Any]:
        fields = await self.fields(pipeline, request)
        directory = self.dispatcher.directory
        model_id = str(fields.get("model_id") or directory.default_model(pipeline) or "")
        if not model_id:
            offers = directory.offers()
            raise ApiError(404, "unknown_model", f"no orchestrator serves {pipeline} yet", extra={"models": offers})
        fields["model_id"] = model_id
        for name in ("image", "audio"):
            if name in fields and not isinstance(fields[name], bytes):
                raise schema_error(f"{name} must be an uploaded file (multipart/form-data)", "bytes_type", name)
        try:
            ai_request = build_for_network(directory, pipeline, fields)
            units = await asyncio.to_thread(checked_units, ai_request)
        except InvalidRequest as exc:
            raise refused(exc) from exc
        job_id = uuid.uuid4().hex[:16]
        out_dir = self.config.outputs_dir / "ai" / job_id
        await self.authorize.claim(caller_of(request), "ai", job_id)
        try:
            result, files = await self.runner.run_request(job_id, pipeline, model_id, fields, ai_request, units)
        except NoOrchestrator as exc:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise ApiError(exc.status, "unknown_model" if exc.status == 404 else "unavailable", str(exc),
                           extra={"models": exc.offers} if exc.status == 404 else {}, headers=retry_header(exc)) from exc
        except OrchestratorRefused as exc:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise ApiError(400, "invalid_request", str(exc)) from exc
        except BaseException:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise
        base = str(request.base_url).rstrip("/")
        root = self.config.outputs_dir
        urls = {name: f"{base}/outputs/{Path(path).relative_to(root).as_posix()}" for name, path in files.items()}
        if pipeline == "audio-to-text":
            return {"text": result.text or "", "chunks": [c.model_dump() for c in result.chunks]}
        if pipeline == "text-to-speech":
            audio = next((o for o in result.outputs if o.kind == "audio"), None)
            if audio is None:
                raise ApiError(502, "bad_result", "the orchestrator returned no audio")
            return {"audio": {"url": urls[audio.file]}}
        return {"images": [{"url": urls[o.file], "seed": o.seed, "nsfw": o.nsfw} for o in result.outputs]}


def install_ai_routes(
    app: FastAPI, config: GatewayConfig, dispatcher: AIDispatcher, runner: AIJobRunner, access: Access
) -> AIRoutes:
    routes = AIRoutes(config, dispatcher, runner, access)
    auth = [Depends(routes.authorize)]

    def add(pipeline: str) -> None:
        async def endpoint(request: Request) -> dict[str, Any]:
            return await routes.handle(pipeline, request)

        endpoint.__name__ = "gen_" + pipeline.replace("-", "_")
        app.add_api_route(
            f"/{pipeline}", endpoint, methods=["POST"], response_model=RESPONSES[pipeline], tags=["generate"],
            summary=pipeline.replace("-", " ").title(), responses=_ERRORS, dependencies=auth,
            openapi_extra=_request_body(pipeline),
            operation_id="gen" + pipeline.title().replace("-", ""),
        )

    for pipeline in (*JSON_PIPELINES, *FORM_PIPELINES):
        add(pipeline)

    @app.get("/ai/models", tags=["generate"])
    async def ai_models() -> list[dict[str, object]]:
        """Every pipeline and model the known orchestrators serve, with who serves it."""
        directory = dispatcher.directory
        out: list[dict[str, object]] = []
        for offer in directory.offers():
            serving = [
                {"url": url, "warm": c.warm, "price_per_unit": c.price_per_unit}
                for url, caps in directory.caps.items()
                for c in caps
                if (c.pipeline, c.model_id) == (offer["pipeline"], offer["model_id"])
            ]
            out.append({"pipeline": offer["pipeline"], "model_id": offer["model_id"], "orchestrators": serving})
        return out

    return routes


def install_unknown_pipeline(app: FastAPI, routes: AIRoutes) -> None:
    """A 404 that lists what the network offers, for POST /anything-else. Install it
    after every other POST route: it matches any one-segment path."""
    dispatcher = routes.dispatcher

    @app.post("/{pipeline}", include_in_schema=False, dependencies=[Depends(routes.authorize)])
    async def unknown_pipeline(pipeline: str) -> None:
        offers = dispatcher.directory.offers()
        pipelines = sorted({o["pipeline"] for o in offers})
        raise ApiError(
            404, "unknown_pipeline",
            f"no pipeline {pipeline!r} here; the network offers: {', '.join(pipelines) or 'none yet'}",
            extra={"models": offers},
        )
