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
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else "http_error"
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )
