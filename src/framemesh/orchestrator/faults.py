"""Faults an operator turns on to test gateways: a slow node, a flaky node.

`--slow-seconds S` waits S seconds before each transcode or AI job (the work then runs
as usual); `--fail-share F` answers that share of them, drawn at random, with a 500
(`injected_failure`) without doing the work. Both are for tests and benchmarks (how
a gateway's scores and selection treat such a node); a node that sells work leaves
them at 0.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_job(scope: Scope) -> bool:
    """A transcode or AI job (not a progress reading, /info or anything else)."""
    path = str(scope.get("path", ""))
    return scope.get("type") == "http" and scope.get("method") == "POST" and (path == "/transcode" or path.startswith("/ai/"))


class Faults:
    """ASGI middleware: the configured delay and failure share on every job."""

    def __init__(self, app: ASGIApp, *, slow_seconds: float = 0.0, fail_share: float = 0.0,
                 rng: random.Random | None = None) -> None:
        self.app = app
        self.slow_seconds = slow_seconds
        self.fail_share = fail_share
        self.rng = rng or random.Random()
        self.failed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_job(scope):
            await self.app(scope, receive, send)
            return
        if self.fail_share and self.rng.random() < self.fail_share:
            self.failed += 1
            while (await receive()).get("more_body", False):  # read the upload: the client sees the answer, not a reset
                pass
            body = json.dumps({"detail": {"msg": "failed on purpose (--fail-share)", "code": "injected_failure"}}).encode()
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if self.slow_seconds:
            await asyncio.sleep(self.slow_seconds)
        await self.app(scope, receive, send)
