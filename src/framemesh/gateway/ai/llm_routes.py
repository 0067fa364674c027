"""The gateway's `POST /llm`: Livepeer's LLM route, wire-compatible (OpenAI-style chat).

    POST /llm  JSON {"messages": [{"role", "content"}], "model", "temperature" 0.7,
                     "max_tokens" 256, "top_p" 1.0, "top_k" -1, "stream" false, "seed"}
      stream false → LLMResponse {"id", "model", "created", "usage", "choices":
                     [{"index", "finish_reason", "message": {"role", "content"}}]}
      stream true  → text/event-stream: `data: {LLMResponse with choices[0].delta}` per
                     piece of text as the orchestrator's model makes it, a last chunk
                     with finish_reason and usage, then `data: [DONE]`

The request is built and checked here before any orchestrator sees it (422 with
`{"detail": {"msg"}}`), with the same bearer token as the other AI routes. A failure
before the first streamed byte goes to the next orchestrator; after it, the stream
ends with `data: {"error": {"msg"}}` (as Livepeer's runner does).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import StreamingResponse

from framemesh.net.schema import inline_schema
from framemesh.ai import DEFAULT_LIMITS, InvalidRequest, build_request
from framemesh.gateway.ai.dispatch import NoOrchestrator, OrchestratorRefused
from framemesh.gateway.ai.jobs import StagePlan
from framemesh.gateway.ai.routes import AIRoutes, error_responses, refused, retry_header
from framemesh.gateway.ai.runner import AIJobRunner
from framemesh.gateway.auth import caller_of
from framemesh.gateway.errors import PeerFailed
from framemesh.gateway.ai.llm_dispatch import PIPELINE, LLMDispatcher, LLMStream
from framemesh.net.api_errors import ApiError
from framemesh.wire.ai import SSE_MEDIA_TYPE, LLMDone, LLMParams, LLMResponse

_ERRORS = error_responses(400, 401, 404, 413, 422, 500, 503)


def install_llm_routes(app: FastAPI, routes: AIRoutes) -> LLMDispatcher:
    """Mount `POST /llm` on the AI routes' dispatcher, token and body reading (before
    their catch-all `POST /{pipeline}`)."""
    dispatcher = routes.dispatcher
    llm = LLMDispatcher(dispatcher)

    @app.post(
        "/llm", response_model=LLMResponse, tags=["generate"], summary="LLM", operation_id="genLLM",
        dependencies=[Depends(routes.authorize)],
        responses={
            **_ERRORS,
            200: {"content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}},
                  "description": "The answer; with stream=true, server-sent events of LLMResponse chunks, then [DONE]."},
        },
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": inline_schema(LLMParams)}}}},
    )
    async def gen_llm(request: Request) -> Any:
        """Generate text using a language model (OpenAI-style chat messages)."""
        fields = await routes.fields(PIPELINE, request)
        directory = dispatcher.directory
        model_id = str(fields.get("model") or directory.default_model(PIPELINE) or "")
        if not model_id:
            offers = directory.offers()
            listed = ", ".join(f"{o['pipeline']} {o['model_id']!r}" for o in offers) or "nothing yet"
            raise ApiError(404, "unknown_model", f"no orchestrator serves llm yet; the network offers: {listed}",
                           extra={"models": offers})
        fields["model"] = model_id
        try:
            ai_request = build_request(PIPELINE, fields)
            ai_request.check(DEFAULT_LIMITS)
            units = ai_request.units()
        except InvalidRequest as exc:
            raise refused(exc) from exc
        job_id = uuid.uuid4().hex[:16]
        caller = caller_of(request)
        await routes.authorize.claim(caller, "llm", job_id)
        record = partial(_record, routes.runner, job_id, StagePlan(PIPELINE, model_id, _params(fields)), time.time())
        try:
            if ai_request.stream:
                stream = await _call(llm.open(model_id, ai_request, units, job_id, key=caller.id))
                return StreamingResponse(_sse(stream, job_id, record), media_type=SSE_MEDIA_TYPE)
            done, url = await _complete(llm, model_id, ai_request, units, job_id, caller.id)
        except ApiError as exc:
            await record(None, None, error=exc.msg, outcome={404: "no_orchestrator", 400: "refused"}.get(exc.status, "failed"))
            raise
        await record(done, url)
        return _response(done, job_id, message=done.text)

    return llm


async def _complete(
    llm: LLMDispatcher, model_id: str, ai_request: Any, units: int, job_id: str, key: str
) -> tuple[LLMDone, str]:
    """The whole answer and who gave it; one that breaks mid-way is asked of the next orchestrator."""
    errors: list[str] = []
    tried: set[str] = set()  # one budget of ai_attempts orchestrators for the whole request
    while len(tried) < llm.ai.attempts:
        try:
            stream = await _call(llm.open(model_id, ai_request, units, job_id, tried, key=key))
        except ApiError as exc:
            if errors and exc.status == 503:
                break
            raise
        try:
            async for kind, value in stream.events():
                if kind == "done":
                    return value, stream.url
        except PeerFailed as exc:
            errors.append(str(exc))
    raise ApiError(503, "unavailable", "llm failed on every orchestrator tried: " + "; ".join(errors))


async def _call(opening: Any) -> LLMStream:
    try:
        return await opening  # type: ignore[no-any-return]
    except NoOrchestrator as exc:
        code = "unknown_model" if exc.status == 404 else "unavailable"
        raise ApiError(exc.status, code, str(exc), extra={"models": exc.offers} if exc.status == 404 else {},
                       headers=retry_header(exc)) from exc
    except OrchestratorRefused as exc:
        raise ApiError(400, "invalid_request", str(exc)) from exc


async def _sse(stream: LLMStream, job_id: str, record: Recorder) -> AsyncIterator[bytes]:
    """Server-sent events: a chunk per piece of text, the last with usage, then [DONE]."""
    created = int(time.time())
    try:
        async for kind, value in stream.events():
            if kind == "delta":
                yield _event(_chunk(stream.model_id, job_id, created, delta=value))
            else:
                done: LLMDone = value
                await record(done, stream.url)
                yield _event(_response(done, job_id, created=created, delta="", finish=done.finish_reason))
        yield b"data: [DONE]\n\n"
    except PeerFailed as exc:
        await record(None, stream.url, error=str(exc))
        yield _event({"error": {"msg": str(exc)}})


Recorder = Callable[..., Awaitable[None]]


async def _record(
    runner: AIJobRunner, job_id: str, plan: StagePlan, started: float, done: LLMDone | None, url: str | None,
    error: str | None = None, outcome: str | None = None,
) -> None:
    """The answer (or why there is none) in the gateway's AI job record (GET /ai/jobs) and metrics,
    and charged to the caller's key."""
    runner.dispatcher.ended(PIPELINE, plan.model_id, outcome or ("ok" if done is not None else "failed"))
    result = done.model_dump(mode="json") if done is not None else {}
    await asyncio.to_thread(
        runner.store.add_done, job_id, plan, orchestrator=url, units=done.units if done else None, result=result,
        files={}, started=started, error=error,
    )
    if done is not None:
        await asyncio.to_thread(runner.charge, job_id, done.units, done.price)


def _params(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if not isinstance(v, bytes)}


def _chunk(model_id: str, job_id: str, created: int, delta: str) -> dict[str, Any]:
    return {
        "id": job_id, "model": model_id, "created": created,
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "choices": [{"index": 0, "finish_reason": "", "delta": {"role": "assistant", "content": delta}, "message": None}],
    }


def _response(
    done: LLMDone, job_id: str, *, created: int | None = None, message: str | None = None,
    delta: str | None = None, finish: str | None = None,
) -> dict[str, Any]:
    body = LLMResponse.model_validate({
        "id": job_id, "model": done.model_id, "created": created or int(time.time()), "usage": done.usage.model_dump(),
        "choices": [{
            "index": 0, "finish_reason": finish or done.finish_reason,
            "message": {"role": "assistant", "content": message} if message is not None else None,
            "delta": {"role": "assistant", "content": delta} if delta is not None else None,
        }],
    })
    return body.model_dump()


def _event(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
