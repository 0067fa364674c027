"""The one place that builds HTTP clients.

Every node talks to its peers through a client made here, so timeouts, connection
limits and the user agent are set once. Tests swap the transport, never the code
above it.
"""

from __future__ import annotations

import httpx

from framemesh import __version__

USER_AGENT = f"framemesh/{__version__}"


def make_client(
    *,
    base_url: str = "",
    timeout: float = 30.0,
    connect_timeout: float = 5.0,
    max_connections: int = 64,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An asyncio HTTP client with bounded waits.

    `timeout` bounds each read/write; `connect_timeout` is short because an
    orchestrator that can't accept a connection in a few seconds is as good as down.
    """
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=16),
        headers={"user-agent": USER_AGENT},
        transport=transport,
        follow_redirects=False,
    )
