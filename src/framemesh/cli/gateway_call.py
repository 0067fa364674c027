"""One call to a gateway from a CLI command: its answer, or its refusal (or absence)
as the command's one-line error and exit 1."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from framemesh.cli.output import fail
from framemesh.sdk.client import GatewayClient, GatewayRequestError

T = TypeVar("T")


def ask(gateway: str, call: Callable[[GatewayClient], Awaitable[T]], *, token: str | None = None) -> T:
    """`token`: the bearer to send (the client's API key from the environment otherwise)."""

    async def go() -> T:
        async with GatewayClient(gateway, token=token) as client:
            return await call(client)

    try:
        return asyncio.run(go())
    except GatewayRequestError as exc:
        fail(str(exc))
