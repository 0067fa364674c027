"""The explorer's web service: server-rendered pages (Jinja2), each also JSON, and one
stream of server-sent events that keeps their live parts current (htmx's SSE extension
swaps them in; without scripts a page is whole as served).

Routes (under `/explorer` in a gateway, at the root of `framemesh explorer`):

    /                      overview      /api/overview
    /orchestrators         ?sort=&dir=   /api/orchestrators
    /orchestrators/{addr}                /api/orchestrators/{addr}
    /delegators/{addr}                   /api/delegators/{addr}
    /rounds                ?before=      /api/rounds
    /gateway                             /api/gateway
    /streams                             /api/streams
    /events?page=&address=               text/event-stream: status, live, work
    /static/...                          vendored htmx, its SSE extension, uPlot; our CSS and chart script

A page asked for with `Accept: application/json` answers its JSON too.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel

from framemesh import __version__
from framemesh.explorer import formatting
from framemesh.explorer.alerts import atom
from framemesh.explorer.index import ExplorerIndexError, UnknownAddress, UnknownRound
from framemesh.explorer.pages import ExplorerData
from framemesh.explorer.sse import event_stream
from framemesh.net.api_errors import ApiError, documented, install_error_handlers
from framemesh.wire.explorer import IndexStatus

log = logging.getLogger("framemesh.explorer")

HERE = Path(__file__).parent
NAV = (("overview", "", "Overview"), ("orchestrators", "/orchestrators", "Orchestrators"), ("rounds", "/rounds", "Rounds"),
       ("activity", "/activity", "Activity"),
       ("gateway", "/gateway", "Gateway"), ("streams", "/streams", "Streams"))
ADDRESS = r"^0x[0-9a-fA-F]{40}$"


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    formatting.install(env)
    return env


class Explorer:
    """The explorer's running parts: its data, and (optionally) the indexer that
    follows the head, started with the first request when it is mounted in another
    app (a mounted app's lifespan never runs) or by `start()`."""

    def __init__(self, data: ExplorerData, follow: Callable[[], Awaitable[None]] | None = None,
                 sse_interval: float = 2.0, index_status: Callable[[], IndexStatus | None] | None = None) -> None:
        self.data = data
        self.follow = follow
        self._index_status = index_status
        self.sse_interval = sse_interval
        self.env = templates()
        self._task: asyncio.Task[None] | None = None

    def index_status(self) -> IndexStatus | None:
        """The index's progress now, without waiting for it (None before the indexer has
        made its file): for metrics."""
        return self._index_status() if self._index_status is not None else None

    def start(self) -> None:
        if self.follow is not None and self._task is None:
            self._task = asyncio.create_task(self._follow(), name="explorer-indexer")

    async def _follow(self) -> None:
        assert self.follow is not None
        try:
            await self.follow()
        except asyncio.CancelledError:
            raise
        except Exception:  # the pages go on with the index as it is; the lag shows it
            log.exception("explorer: the indexer stopped")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.data.close()

    def render(self, name: str, request: Request, **context: Any) -> str:
        base = request.scope.get("root_path", "").rstrip("/")
        return self.env.get_template(name).render(base=base, nav=NAV, version=__version__, **context)


def _wants_json(request: Request, api: bool) -> bool:
    if api:
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def create_explorer_app(explorer: Explorer) -> FastAPI:
    app = FastAPI(title="framemesh explorer", version=__version__, docs_url=None, redoc_url=None)
    app.state.explorer = explorer
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def start_indexer(request: Request, call_next: Any) -> Any:
        explorer.start()
        return await call_next(request)

    def page(path: str, template: str, current: str) -> Callable[[Callable[..., Awaitable[BaseModel]]], None]:
        """Serve `build(...)` at `path` as HTML (or JSON when asked) and at /api`path` as JSON."""

        def install(build: Callable[..., Awaitable[BaseModel]]) -> None:
            async def serve(request: Request, api: bool, **params: Any) -> Response:
                try:
                    model = await build(**params)
                except UnknownAddress as exc:
                    return _not_found(request, api, "unknown_address", str(exc))
                except UnknownRound as exc:
                    return _not_found(request, api, "unknown_round", str(exc))
                except ExplorerIndexError as exc:
                    raise ApiError(503, "index_unavailable", str(exc), headers={"Retry-After": "2"}) from exc
                if _wants_json(request, api):
                    return JSONResponse(model.model_dump(mode="json"), headers={"Vary": "Accept"})
                html = explorer.render(template, request, page=model, current=current, params=params)
                return HTMLResponse(html, headers={"Vary": "Accept"})

            # Both routes take `build`'s query and path parameters, as FastAPI reads them
            # from a signature: one definition per page, its HTML and JSON kept the same.
            params = list(inspect.signature(build).parameters.values())

            async def html_route(request: Request, **kw: Any) -> Response:
                return await serve(request, False, **kw)

            async def api_route(request: Request, **kw: Any) -> Response:
                return await serve(request, True, **kw)

            for fn, route in ((html_route, path), (api_route, "/api" + (path if path != "/" else "/overview"))):
                fn.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
                    [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request), *params]
                )
                app.add_api_route(route, fn, methods=["GET"], response_class=Response, name=f"{current}{'-api' if fn is api_route else ''}",
                                  responses={200: {"content": {"text/html": {}, "application/json": {}}}, **documented(404, 422, 503)},
                                  include_in_schema=fn is api_route)

        return install

    def _not_found(request: Request, api: bool, code: str, msg: str) -> Response:
        if _wants_json(request, api):
            raise ApiError(404, code, msg)
        return HTMLResponse(explorer.render("not_found.html", request, message=msg, current=""), status_code=404)

    @page("/", "overview.html", "overview")
    async def overview() -> BaseModel:
        return await explorer.data.overview()

    @page("/orchestrators", "orchestrators.html", "orchestrators")
    async def orchestrators(
        sort: str | None = Query(None, description="Column to sort by (rank, stake, fees_total, score, ...)."),
        dir: str | None = Query(None, pattern="^(asc|desc)$"),
    ) -> BaseModel:
        return await explorer.data.orchestrators(sort, dir)

    @page("/orchestrators/{address}", "orchestrator.html", "orchestrators")
    async def orchestrator(address: str = _address()) -> BaseModel:
        return await explorer.data.orchestrator(address)

    @page("/delegators/{address}", "delegator.html", "")
    async def delegator(address: str = _address()) -> BaseModel:
        return await explorer.data.delegator(address)

    @page("/rounds", "rounds.html", "rounds")
    async def rounds(before: int | None = Query(None, ge=0), limit: int = Query(50, ge=1, le=500)) -> BaseModel:
        return await explorer.data.rounds(limit, before)

    @page("/activity", "activity.html", "activity")
    async def activity(
        address: str | None = Query(None, pattern=ADDRESS, description="Only the events that name this address."),
        before: str | None = Query(None, pattern=r"^\d{1,12}-\d{1,6}$",
                                   description="Page back from this event: BLOCK-LOG_INDEX, as the page's last row."),
        limit: int = Query(50, ge=1, le=500),
    ) -> BaseModel:
        start = tuple(int(x) for x in before.split("-")) if before else None
        return await explorer.data.activity(limit, address, start)  # type: ignore[arg-type]

    @page("/gateway", "gateway.html", "gateway")
    async def gateway() -> BaseModel:
        return await explorer.data.gateway_page()

    @page("/streams", "streams.html", "streams")
    async def streams() -> BaseModel:
        return await explorer.data.streams()

    @app.get("/feeds/{address}", response_class=Response, tags=["alerts"],
             responses={200: {"content": {"application/atom+xml": {}}}, **documented(404, 422, 503)})
    async def feed(request: Request, address: str = _address()) -> Response:
        """An Atom feed of what an orchestrator's delegators want to know (its terms set or
        changed, a missed reward call, leaving the active set); for a delegator, its
        delegate's. Follow it in any feed reader: no account needed."""
        try:
            whose, detail, found, now = await explorer.data.alerts(address)
        except UnknownAddress as exc:
            raise ApiError(404, "unknown_address", str(exc)) from exc
        except ExplorerIndexError as exc:
            raise ApiError(503, "index_unavailable", str(exc), headers={"Retry-After": "2"}) from exc
        # scheme and host as asked, then the mount's path (a gateway's /explorer)
        base = f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '').rstrip('/')}"
        name = detail.address if whose == "orchestrator" else f"{detail.address} (the delegate of {address})"
        body = atom(f"urn:framemesh:explorer:{address.lower()}", f"framemesh: alerts for {name}",
                    f"{base}/orchestrators/{detail.address}", found, now)
        return Response(body, media_type="application/atom+xml")

    @app.get("/events", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}},
             include_in_schema=True)
    async def events(
        request: Request,
        page: str = Query("", max_length=32, description="The page listening: overview, orchestrator, ..."),
        address: str | None = Query(None, pattern=ADDRESS),
    ) -> StreamingResponse:
        """Server-sent events: `status` (the index's lag) for every page, `live` (the round
        and work in flight) for the overview, `work` for an orchestrator's page. An
        event is sent when its HTML changed; a comment every 15 s keeps proxies open."""

        async def body() -> AsyncIterator[bytes]:
            async for chunk in event_stream(explorer, request, page, address):
                yield chunk

        return StreamingResponse(body(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return app


def _address() -> Any:
    return PathParam(pattern=ADDRESS, description="An account address, 0x and 40 hex digits.")
