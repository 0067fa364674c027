"""Finding orchestrators on the chain: the active set and each one's service URI."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("framemesh.gateway")


@dataclass(frozen=True)
class Discovered:
    address: str
    url: str
    stake: int


def discover(protocol: Any) -> list[Discovered]:
    """The active orchestrators with a usable service URI (synchronous: chain reads)."""
    found = []
    for address in protocol.active_set():
        uri = protocol.service_uri(address).rstrip("/")
        if not uri.startswith(("http://", "https://")):
            log.warning("orchestrator %s has no usable service URI (%r); skipped", address, uri)
            continue
        found.append(Discovered(address, uri, protocol.total_stake(address)))
    return found


async def discover_async(protocol: Any) -> list[Discovered]:
    return await asyncio.to_thread(discover, protocol)
