"""A request body held to a size limit, however it is sent.

A declared Content-Length over the limit is refused before a byte is read; a body
sent chunked (no Content-Length) is counted as it arrives and refused the moment it
passes the limit, so neither a JSON parser nor a multipart spool ever holds more.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import Message

from framemesh.net.api_errors import ApiError
from framemesh.net.schema import inline_schema

M = TypeVar("M", bound=BaseModel)


def too_large(limit: int, what: str) -> ApiError:
    return ApiError(413, "too_large", f"{what} is larger than the {limit}-byte limit")


def limited(request: Request, limit: int, what: str = "the request") -> Request:
    """The same request, whose body (read by `.body()`, `.form()`, `.stream()`) raises
    a 413 ApiError once more than `limit` bytes have come."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit, what)
    receive = request.receive
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large(limit, what)
        return message

    return Request(request.scope, counted)


# A JSON body of settings (a stream, an API key): far under this.
SMALL_BODY = 64 * 1024


async def json_body(request: Request, model: type[M], limit: int = SMALL_BODY, what: str = "the request") -> M:
    """The request's JSON body, read within `limit` bytes, as a `model`, strictly (`0` is
    not `false`): a 413 past the limit, a 422 that names the wrong field otherwise."""
    raw = await limited(request, limit, what).body()
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None


def json_body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI `openapi_extra` of a route that reads `model` with `json_body`."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline_schema(model)}}}}
