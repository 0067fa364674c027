"""What the explorer reads off the chain's index: from the nodes themselves, over HTTP.

- Each orchestrator's public `/info` (capabilities, models warm or cold, prices,
  capacity and load) and its `/stats` (or, from a node that predates it, the JSON
  `/metrics`): tickets received, won and redeemed, work in flight. Nothing private.
- One gateway: its pool (orchestrators used, success rates), its payer (tickets sent,
  face value), its scores (`/scores`, `/scores/history`) and its live streams. In the
  gateway's own process these are read from its objects (`InProcessGateway`); from a
  standalone explorer, from its HTTP API with an operator's token (`HttpGateway`).

Every read is best-effort: a node that does not answer, or answers with a shape this
version does not know, gives None, and the page says "—" for it. Answers are kept
for a few seconds so that a page, its JSON twin and the live events share one read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Protocol

import httpx

from framemesh.net.client import make_client
from framemesh.wire.explorer_pages import StreamOut

log = logging.getLogger("framemesh.explorer")

# Seconds an answer is reused: pages and the live stream of events read the same
# thing several times a second, the nodes need not be asked each time.
FRESH_SECONDS = 3.0
HTTP_TIMEOUT = 3.0


class GatewayFacts(Protocol):
    """One gateway's view of the network: what `/gateway`, `/streams` and the score
    columns show. Each method gives None when it cannot tell."""

    label: str

    async def orchestrators(self) -> list[dict[str, Any]] | None: ...
    async def payments(self) -> dict[str, Any] | None: ...
    async def scores(self) -> dict[str, Any] | None: ...
    async def score_history(self, address: str) -> list[dict[str, Any]] | None: ...
    async def streams(self) -> list[StreamOut] | None: ...
    async def close(self) -> None: ...


class Memo:
    """An answer per key, kept FRESH_SECONDS; concurrent askers share one read."""

    def __init__(self, fresh: float = FRESH_SECONDS) -> None:
        self.fresh = fresh
        self._kept: dict[str, tuple[float, Any]] = {}
        self._reading: dict[str, asyncio.Future[Any]] = {}

    async def get(self, key: str, read: Callable[[], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.fresh:
            return kept[1]
        pending = self._reading.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._reading[key] = future
        try:
            value = await read()
        except Exception as exc:  # a node's failure is a "—" on the page, never a broken page
            log.debug("explorer: reading %s failed: %s", key, exc)
            value = None
        finally:
            del self._reading[key]
        self._kept[key] = (time.monotonic(), value)
        future.set_result(value)
        return value


class NodeReader:
    """Reads orchestrators' public endpoints."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._own = client is None
        self.http = client or make_client(timeout=HTTP_TIMEOUT, connect_timeout=HTTP_TIMEOUT)
        self.memo = Memo()

    async def _json(self, url: str) -> Any:
        response = await self.http.get(url)
        response.raise_for_status()
        return response.json()

    async def info(self, service_uri: str) -> dict[str, Any] | None:
        """The node's /info (see wire/orchestrator.py OrchestratorInfo) as plain data."""
        base = service_uri.rstrip("/")
        value = await self.memo.get(f"info {base}", lambda: self._json(f"{base}/info"))
        return value if isinstance(value, dict) else None

    async def stats(self, service_uri: str) -> dict[str, Any] | None:
        """The node's /stats, or the JSON /metrics of a node from before /stats."""
        base = service_uri.rstrip("/")

        async def read() -> Any:
            try:
                return await self._json(f"{base}/stats")
            except (httpx.HTTPStatusError, ValueError):
                return await self._json(f"{base}/metrics")  # older nodes: JSON there

        value = await self.memo.get(f"stats {base}", read)
        return value if isinstance(value, dict) else None

    async def many(self, uris: list[str]) -> tuple[dict[str, dict[str, Any] | None], dict[str, dict[str, Any] | None]]:
        """/info and /stats of every node at once."""
        infos = await asyncio.gather(*(self.info(u) for u in uris))
        stats = await asyncio.gather(*(self.stats(u) for u in uris))
        return dict(zip(uris, infos)), dict(zip(uris, stats))

    async def close(self) -> None:
        if self._own:
            await self.http.aclose()


class HttpGateway:
    """A gateway reached over HTTP. `/payments` and `/streams` need an operator's token;
    without one, those parts say "—"."""

    def __init__(self, url: str, token: str | None = None, client: httpx.AsyncClient | None = None) -> None:
        self.url = url.rstrip("/")
        self.label = self.url
        self._own = client is None
        self.http = client or make_client(timeout=HTTP_TIMEOUT, connect_timeout=HTTP_TIMEOUT)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.memo = Memo()

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = await self.http.get(f"{self.url}{path}", headers=self.headers, params=params)
        response.raise_for_status()
        return response.json()

    async def orchestrators(self) -> list[dict[str, Any]] | None:
        value = await self.memo.get("orchestrators", lambda: self._get("/orchestrators"))
        return value if isinstance(value, list) else None

    async def payments(self) -> dict[str, Any] | None:
        value = await self.memo.get("payments", lambda: self._get("/payments"))
        return value if isinstance(value, dict) and value.get("enabled") else None

    async def scores(self) -> dict[str, Any] | None:
        value = await self.memo.get("scores", lambda: self._get("/scores"))
        return value if isinstance(value, dict) else None

    async def score_history(self, address: str) -> list[dict[str, Any]] | None:
        value = await self.memo.get(
            f"history {address}", lambda: self._get("/scores/history", {"orchestrator": address})
        )
        points = value.get("points") if isinstance(value, dict) else None
        return points if isinstance(points, list) else None

    async def streams(self) -> list[StreamOut] | None:
        value = await self.memo.get("streams", lambda: self._get("/streams"))
        if not isinstance(value, list):
            return None
        return [_stream_row(s, f"{self.url}/streams/{s.get('id')}/player") for s in value if isinstance(s, dict)]

    async def close(self) -> None:
        if self._own:
            await self.http.aclose()


def _stream_row(s: dict[str, Any], player_url: str) -> StreamOut:
    segments = s.get("segments") or {}
    ai = s.get("ai") or {}
    return StreamOut(
        id=str(s.get("id")), name=str(s.get("name") or ""), state=str(s.get("state")),
        orchestrator=s.get("orchestrator"), segments=int(segments.get("listed", segments.get("done", 0)) or 0),
        live_since=s.get("live_since"), model=ai.get("model_id") if isinstance(ai, dict) else None,
        player_url=player_url,
    )
