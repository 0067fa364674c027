"""A stream's events, for `GET /streams/{id}/events` (server-sent events).

Each listener has a bounded queue of its own: one that does not read (a stalled
browser tab) loses its oldest events, never holds the stream back nor grows the
gateway's memory.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

QUEUED = 256  # events kept for a listener that reads slowly


class EventHub:
    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue[tuple[str, dict[str, Any]]]] = set()
        self.sent = 0

    def listen(self) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(QUEUED)
        self._listeners.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None:
        self._listeners.discard(queue)

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        """Send an event to every listener (on the event loop)."""
        data = {"time": round(time.time(), 3), **data}
        for queue in self._listeners:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait((kind, data))
        self.sent += 1


def sse(kind: str, data: dict[str, Any]) -> str:
    """One server-sent event."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
