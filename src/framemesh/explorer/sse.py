"""The explorer's server-sent events: the live parts of a page, as the HTML htmx swaps in.

Each tick renders the page's live fragments and sends those that changed since the
last tick, so a quiet network costs a comment every 15 s and a browser repaints only
what moved. The format is the EventSource one: `event:` then one `data:` line per line
of HTML, then a blank line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, AsyncIterator

from fastapi import Request

from framemesh.explorer.index import ExplorerIndexError

if TYPE_CHECKING:
    from framemesh.explorer.app import Explorer

log = logging.getLogger("framemesh.explorer")

KEEPALIVE_SECONDS = 15.0


def frame(event: str, html: str) -> bytes:
    """One server-sent event carrying `html` (any number of lines)."""
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{lines}\n".encode()


async def fragments(explorer: "Explorer", request: Request, page: str, address: str | None) -> dict[str, str]:
    """The live fragments of `page`, rendered now: `status` on every page; the overview's
    `live` (round, work in flight) and `network` (this round's figures, the charts);
    an orchestrator's `work`."""
    data = explorer.data
    if page == "overview":
        overview = await data.overview()
        return {
            "status": explorer.render("_status.html", request, status=overview.status),
            "live": explorer.render("_live.html", request, status=overview.status, live=overview.live),
            "network": explorer.render("_network.html", request, page=overview),
        }
    out = {"status": explorer.render("_status.html", request, status=await data.status())}
    if page == "orchestrator" and address:
        detail = await data.orchestrator(address)
        out["work"] = explorer.render("_work.html", request, page=detail)
    return out


async def event_stream(explorer: "Explorer", request: Request, page: str, address: str | None) -> AsyncIterator[bytes]:
    sent: dict[str, str] = {}
    last = time.monotonic()
    yield b"retry: 2000\n\n"  # reconnect soon after a gateway restart
    while not await request.is_disconnected():
        try:
            now = await fragments(explorer, request, page, address)
        except ExplorerIndexError as exc:  # not indexed yet: the page says so already
            log.debug("explorer events: %s", exc)
            now = {}
        for event, html in now.items():
            if sent.get(event) != html:
                sent[event] = html
                last = time.monotonic()
                yield frame(event, html)
        if time.monotonic() - last > KEEPALIVE_SECONDS:
            last = time.monotonic()
            yield b": keep-alive\n\n"
        await asyncio.sleep(explorer.sse_interval)
