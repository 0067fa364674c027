"""Each page's data: the index's history joined with what the nodes say now.

`ExplorerData` is the one place that reads; views.py shapes what it read. The index is
read on one thread of its own (its SQLite connection stays on that thread), the nodes
over HTTP (sources.py), all of it concurrently where it can be.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from framemesh.explorer import views
from framemesh.explorer.alerts import Alert, alerts
from framemesh.explorer.index import ChainHistory, UnknownAddress
from framemesh.explorer.sources import GatewayFacts, NodeReader
from framemesh.wire.explorer import IndexStatus, OrchestratorDetail, OrchestratorSummary
from framemesh.wire.explorer_pages import (
    ActivityPage,
    DelegatorPage,
    GatewayPage,
    LiveNow,
    OrchestratorPage,
    OrchestratorsPage,
    OverviewPage,
    RoundsPage,
    ScorePoint,
    StreamsPage,
)

# Rounds the overview's charts cover.
CHART_ROUNDS = 100


class ExplorerData:
    def __init__(self, history: Callable[[], ChainHistory], nodes: NodeReader, gateway: GatewayFacts | None) -> None:
        """`history` makes the index reader, on the index's thread, the first time it is
        needed (the indexer creates the file first)."""
        self._make_history = history
        self._history: ChainHistory | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="explorer-index")
        self.nodes = nodes
        self.gateway = gateway

    async def read(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """`history.method(*args, **kwargs)` on the index's thread."""
        def call() -> Any:
            if self._history is None:
                self._history = self._make_history()
            return getattr(self._history, method)(*args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def close(self) -> None:
        if self._history is not None:
            await self.read("close")
        self._thread.shutdown(wait=False)
        await self.nodes.close()
        if self.gateway is not None:
            await self.gateway.close()

    async def status(self) -> IndexStatus:
        return await self.read("status")

    async def _gw(self, method: str, *args: Any) -> Any:
        if self.gateway is None:
            return None
        return await getattr(self.gateway, method)(*args)

    async def _rows(self, orchestrators: list[OrchestratorSummary]) -> tuple[
        list[views.OrchestratorRow], dict[str, dict[str, Any] | None], dict[str, dict[str, Any] | None], dict[str, Any] | None
    ]:
        uris = [o.service_uri for o in orchestrators if o.service_uri]
        (infos, stats), pool, scores = await asyncio.gather(self.nodes.many(uris), self._gw("orchestrators"), self._gw("scores"))
        rows = []
        for rank, o in views.ranked(orchestrators):
            info = infos.get(o.service_uri) if o.service_uri else None
            entry = views.pool_entry(pool, o.address, o.service_uri)
            rows.append(views.orchestrator_row(rank, o, info, entry, views.scores_of(scores, o.address, o.service_uri)))
        return rows, infos, stats, scores

    async def orchestrators(self, sort: str | None = None, direction: str | None = None) -> OrchestratorsPage:
        status, found = await asyncio.gather(self.status(), self.read("orchestrators"))
        rows, _, _, scores = await self._rows(found)
        key, descending = views.parse_sort(sort, direction)
        return OrchestratorsPage(
            status=status, sort=key, descending=descending, orchestrators=views.sort_rows(rows, key, descending),
            total_stake=sum(o.stake for o in found), scores_window_seconds=(scores or {}).get("window_seconds"),
        )

    async def orchestrator(self, address: str) -> OrchestratorPage:
        status, detail, everyone = await asyncio.gather(
            self.status(), self.read("orchestrator", address), self.read("orchestrators")
        )
        rows, infos, stats, scores = await self._rows(everyone)
        row = next(r for r in rows if r.address.lower() == detail.address.lower())
        uri = detail.service_uri
        history, streams = await asyncio.gather(self._gw("score_history", detail.address), self._gw("streams"))
        on_it = None
        if streams is not None:
            on_it = sum(1 for s in streams if s.state == "live" and uri and (s.orchestrator or "").rstrip("/") == uri.rstrip("/"))
        info = infos.get(uri) if uri else None
        node_stats = stats.get(uri) if uri else None
        return OrchestratorPage(
            status=status, row=row, detail=detail, scores=views.scores_of(scores, detail.address, uri),
            score_history=[ScorePoint.model_validate(p) for p in history] if history is not None else None,
            work=views.work(info, node_stats, on_it),
            tickets=views.tickets(node_stats, detail.tickets_redeemed, detail.tickets_face_value),
        )

    async def overview(self) -> OverviewPage:
        status, latest, series, found = await asyncio.gather(
            self.status(), self.read("rounds", 1), self.read("series", CHART_ROUNDS),
            self.read("orchestrators"),
        )
        live = await self.live(found)
        return OverviewPage(
            status=status, latest=latest[0] if latest else None, series=series, live=live,
            orchestrators=len(found), active_orchestrators=sum(1 for o in found if o.active),
            total_stake=sum(o.stake for o in found),
        )

    async def live(self, found: list[OrchestratorSummary] | None = None) -> LiveNow:
        """Streams and jobs in flight now: the live part of the overview."""
        if found is None:
            found = await self.read("orchestrators")
        uris = [o.service_uri for o in found if o.service_uri]
        (infos, stats), streams, pool = await asyncio.gather(self.nodes.many(uris), self._gw("streams"), self._gw("orchestrators"))
        answering = [u for u in uris if infos.get(u) is not None]
        jobs = 0
        for u in answering:
            w = views.work(infos[u], stats.get(u), None)
            jobs += (w.transcode_jobs or 0) + (w.ai_jobs or 0)
        return LiveNow(
            streams_live=sum(1 for s in streams if s.state == "live") if streams is not None else None,
            jobs_in_flight=jobs if answering else None,
            segments_in_flight=sum(int(m.get("in_flight", 0)) for m in pool) if pool is not None else None,
            orchestrators_answering=len(answering),
        )

    async def rounds(self, limit: int = 50, before: int | None = None) -> RoundsPage:
        status, rounds = await asyncio.gather(self.status(), self.read("rounds", limit=limit, before=before))
        return RoundsPage(status=status, rounds=rounds)

    async def activity(self, limit: int = 50, address: str | None = None,
                       before: tuple[int, int] | None = None) -> ActivityPage:
        status, events = await asyncio.gather(
            self.status(), self.read("events", limit=limit, address=address, before=before))
        return ActivityPage(status=status, address=address, events=events)

    async def alerts(self, address: str) -> tuple[str, OrchestratorDetail, list[Alert], int | None]:
        """The alerts of `address`'s orchestrator: its own, or its delegate's for a delegator.
        Returns (whose: "orchestrator" or "delegate", the orchestrator, its alerts, now)."""
        status, rounds = await asyncio.gather(self.status(), self.read("rounds", limit=500))
        times = {r.round: r.initialized_at for r in rounds}
        try:
            detail, whose = await self.read("orchestrator", address), "orchestrator"
        except UnknownAddress:
            delegate = (await self.read("delegator", address)).delegate
            if delegate is None:
                raise
            detail, whose = await self.read("orchestrator", delegate), "delegate"
        now = max((t for t in times.values() if t is not None), default=None)
        return whose, detail, alerts(detail, times), now

    async def delegator(self, address: str) -> DelegatorPage:
        status, detail = await asyncio.gather(self.status(), self.read("delegator", address))
        return DelegatorPage(status=status, delegator=detail)

    async def gateway_page(self) -> GatewayPage:
        status, everyone, payments, pool, scores = await asyncio.gather(
            self.status(), self.read("gateways"), self._gw("payments"), self._gw("orchestrators"), self._gw("scores")
        )
        address = (payments or {}).get("address")
        on_chain = None
        if address and any(g.address.lower() == address.lower() for g in everyone):
            on_chain = await self.read("gateway", address)
        return GatewayPage(
            status=status, address=address, on_chain=on_chain,
            tickets_sent=views.as_int((payments or {}).get("tickets_sent")),
            face_value_sent=views.as_int((payments or {}).get("face_value_sent")),
            expected_value_sent=views.as_int((payments or {}).get("expected_value_sent")),
            used=views.used(pool, scores), gateways=everyone,
        )

    async def streams(self) -> StreamsPage:
        status, streams = await asyncio.gather(self.status(), self._gw("streams"))
        return StreamsPage(status=status, streams=streams)

