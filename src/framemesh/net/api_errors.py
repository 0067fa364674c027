"""The JSON error body every framemesh HTTP service answers with.

One shape for all nodes, the one Livepeer's AI gateway uses, so a client handles
errors the same way everywhere: ``{"detail": {"msg": "...", "code": "..."}}``, and for
a request that breaks an API's schema on Livepeer's routes, Livepeer's (and FastAPI's)
validation shape: ``422 {"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``.
An error nobody foresaw is a 500 in the first shape, never a bare text page.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger("framemesh.net")


class ApiError(Exception):
    """An error a handler raises to answer the client with `status` and a message."""

    def __init__(
        self,
        status: int,
        code: str,
        msg: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}
        self.extra = extra or {}
        self.errors = errors  # the validation shape's list, when the schema was broken


class ErrorDetail(BaseModel):
    """What went wrong: a message for people, a code for programs, and sometimes more
    (`models` on a 404 for a model nobody serves, `limit` on a 402, ...)."""

    model_config = ConfigDict(extra="allow")
    msg: str
    code: str


class ErrorBody(BaseModel):
    """Every error a framemesh node answers with (but the validation shape, where documented)."""

    detail: ErrorDetail


_ERROR_WORDS = {
    400: "The request cannot be run as sent; the message says why.",
    401: "No API key, or an unknown or revoked one.",
    402: "The API key is over its spend limit; Retry-After says when it may spend again.",
    403: "Not for this caller.",
    404: "No such thing here (a job, stream, key, file, model).",
    409: "Not now: the thing is in a state that does not allow it.",
    413: "The body is larger than the limit.",
    415: "The body is not of a media type this route takes.",
    422: "A field is missing, of the wrong type, or not a value this route takes.",
    429: "The API key is over its rate or concurrency; retry after Retry-After.",
    500: "A failure of the node's own (never bad input); its log has it.",
    503: "Busy, or no orchestrator free; retry after Retry-After.",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses=` of a route that may answer these error statuses, each
    with the one error body (402, 429 and 503 with their Retry-After)."""
    return {
        status: {"model": ErrorBody, "description": _ERROR_WORDS[status],
                 **({"headers": _RETRY_AFTER} if status in (402, 429, 503) else {})}
        for status in statuses
    }


def error_body(code: str, msg: str, **extra: Any) -> dict[str, Any]:
    return {"detail": {"msg": msg, "code": code, **extra}}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, ours or the framework's, answer with the one JSON shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        body = {"detail": exc.errors} if exc.errors is not None else error_body(exc.code, exc.msg, **exc.extra)
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unforeseen(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
        return JSONResponse(error_body("internal_error", f"internal error ({type(exc).__name__}); see the node's log"),
                            status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid_request", _validation_message(exc)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "http_error"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed(request))
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=headers)


def _allowed(request: Request) -> list[str]:
    """Every method a documented route takes at the request's path (Starlette's 405 names
    only the first route's; a catch-all left out of the API description is no method of it)."""
    matching = [
        route for route in request.app.router.routes
        if getattr(route, "methods", None) and getattr(route, "include_in_schema", True)
        and route.matches(request.scope)[0] is not Match.NONE
    ]
    # A path a route names exactly (/streams/{id}/control) is that route's, not also a
    # catch-all's (/streams/{id}/{path:path}) that happens to match it.
    exact = [route for route in matching if ":path}" not in getattr(route, "path", "")]
    return sorted({method for route in (exact or matching) for method in route.methods})
