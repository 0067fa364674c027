"""An explorer put together: the indexer following the chain into its SQLite file, the
reads over that file, the nodes' endpoints and a gateway's facts, and the web app.

Used by `framemesh explorer` (its own process) and by the gateway (`/explorer`). The
indexer is made on first use, off the event loop, so a gateway nobody browses spends
nothing on it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from framemesh.explorer.app import Explorer, create_explorer_app
from framemesh.explorer.index import ChainHistory, Indexer
from framemesh.explorer.pages import ExplorerData
from framemesh.explorer.metrics import ExplorerMetrics
from framemesh.explorer.sources import GatewayFacts, NodeReader
from framemesh.net.metrics import install_metrics_route
from framemesh.wire.explorer import IndexStatus

# Seconds to wait for the indexer to create its file before a page says the index is not there.
CREATE_WAIT = 30.0


def build_explorer(
    protocol: Any, db_path: str | os.PathLike[str], *, gateway: GatewayFacts | None = None,
    follow_interval: float = 2.0, sse_interval: float = 2.0,
) -> Explorer:
    path = Path(db_path)
    created = threading.Event()
    failed: list[BaseException] = []

    async def follow() -> None:
        try:
            indexer = await asyncio.to_thread(Indexer, protocol, path)
        except BaseException as exc:
            failed.append(exc)
            raise
        finally:
            created.set()
        try:
            await indexer.run(interval=follow_interval)
        finally:
            await asyncio.to_thread(indexer.close)

    def history() -> ChainHistory:
        created.wait(CREATE_WAIT)
        if failed:
            raise failed[0]
        return ChainHistory(path)

    readers: list[ChainHistory] = []

    def index_status() -> IndexStatus | None:
        if not created.is_set() or failed:
            return None
        if not readers:
            readers.append(ChainHistory(path))
        return readers[0].status()

    return Explorer(ExplorerData(history, NodeReader(), gateway), follow=follow, sse_interval=sse_interval,
                    index_status=index_status)


def explorer_app(explorer: Explorer) -> FastAPI:
    """The explorer as an app of its own, which starts and stops with its server."""
    from contextlib import asynccontextmanager
    from typing import AsyncIterator

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        explorer.start()
        try:
            yield
        finally:
            await explorer.stop()

    app = create_explorer_app(explorer)
    app.router.lifespan_context = lifespan
    metrics = ExplorerMetrics()
    metrics.set.bind(explorer)
    install_metrics_route(app, metrics.set)
    return app
