"""The gateway's facts read from its own objects, when the explorer is mounted in it
(`/explorer`): no token, no HTTP round trip. The same shapes as `HttpGateway`'s."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

from framemesh.explorer.sources import Memo
from framemesh.wire.explorer_pages import StreamOut

# Streams listed on the page: the newest first, as the gateway's own GET /streams.
STREAMS_SHOWN = 50


class InProcessGateway:
    def __init__(self, gateway: Any, prefix: str = "") -> None:
        self.gateway = gateway
        self.prefix = prefix  # where the gateway's own routes are, seen from the browser
        self.label = "this gateway"
        self.memo = Memo()

    async def orchestrators(self) -> list[dict[str, Any]] | None:
        return self.gateway.pool.snapshot(time.monotonic())  # type: ignore[no-any-return]

    async def payments(self) -> dict[str, Any] | None:
        payer = self.gateway.payer
        if payer is None:
            return None
        return {"enabled": True, "address": payer.address, **payer.stats()}

    async def scores(self) -> dict[str, Any] | None:
        from framemesh.gateway.score_routes import current_scores

        return current_scores(self.gateway.pool).model_dump(mode="json")

    async def score_history(self, address: str) -> list[dict[str, Any]] | None:
        points = await asyncio.to_thread(self.gateway.score_store.history, orchestrator=address)
        return [dataclasses.asdict(p) if dataclasses.is_dataclass(p) else dict(p) for p in points]

    async def streams(self) -> list[StreamOut] | None:
        return await self.memo.get("streams", lambda: asyncio.to_thread(self._streams))  # type: ignore[no-any-return]

    def _streams(self) -> list[StreamOut]:
        live = self.gateway.live
        rows = []
        for record in live.store.page(STREAMS_SHOWN):
            listed, _skipped, per = live.store.summary(record.id)
            session = live.session(record.id)  # a lookup: session_of would open one
            on = getattr(session, "current", None) if session is not None else None
            if on is None and per:
                on = max(per, key=lambda url: per[url])
            rows.append(StreamOut(
                id=record.id, name=record.name, state=record.state.value, orchestrator=on, segments=listed,
                live_since=record.live_since, model=(record.ai or {}).get("model_id"),
                player_url=f"{self.prefix}/streams/{record.id}/player",
            ))
        return rows

    async def close(self) -> None:
        return None
