"""`ChainHistory`: the explorer's read queries over the index file. No chain access.

    history = ChainHistory("explorer.sqlite")
    history.status()                       # IndexStatus
    history.rounds(limit=50)               # [RoundSummary], newest first
    history.orchestrator("0xabc...")       # OrchestratorDetail, or UnknownAddress (404)

Every method reads one consistent snapshot of the file (one read transaction), so a
page never mixes two batches of the indexer.
"""

from __future__ import annotations

import os

from framemesh.wire.explorer import (
    ChainEvent,
    DelegatorDetail,
    GatewayDetail,
    GatewaySummary,
    IndexStatus,
    OrchestratorDetail,
    OrchestratorSummary,
    RoundSeries,
    RoundSummary,
)

#: rounds in the "recent" window of reward-call and fee figures
RECENT_ROUNDS = 30


class ChainHistory:
    """Read-only queries over an index file the `Indexer` writes (possibly at the same time)."""

    def __init__(self, path: str | os.PathLike[str], *, lag_blocks: int = 50, stall_seconds: float = 60.0) -> None:
        """`lag_blocks`: more blocks behind the head than this is lagging; `stall_seconds`:
        an indexer that has not looked at the head for this long is lagging too.
        Raises `IndexNotFound` if the file does not exist."""
        raise NotImplementedError

    def status(self) -> IndexStatus:
        raise NotImplementedError

    def rounds(self, limit: int = 50, before: int | None = None) -> list[RoundSummary]:
        """Initialized rounds, newest first; `before`: only rounds below that number (paging)."""
        raise NotImplementedError

    def round(self, number: int) -> RoundSummary:
        """One round; `UnknownRound` if it was not initialized (or not indexed yet)."""
        raise NotImplementedError

    def series(self, limit: int | None = None) -> RoundSeries:
        """Per-round chart columns, oldest first (the last `limit` rounds)."""
        raise NotImplementedError

    def orchestrators(self) -> list[OrchestratorSummary]:
        """Every address that ever registered as an orchestrator, highest stake first."""
        raise NotImplementedError

    def orchestrator(self, address: str) -> OrchestratorDetail:
        """Raises `UnknownAddress` if it never registered."""
        raise NotImplementedError

    def delegator(self, address: str) -> DelegatorDetail:
        """Raises `UnknownAddress` if it never bonded."""
        raise NotImplementedError

    def gateways(self) -> list[GatewaySummary]:
        """Every address that funded a deposit or reserve, largest deposit first."""
        raise NotImplementedError

    def gateway(self, address: str) -> GatewayDetail:
        """Raises `UnknownAddress` if it never funded a deposit or reserve."""
        raise NotImplementedError

    def events(self, limit: int = 50, address: str | None = None, before: tuple[int, int] | None = None) -> list[ChainEvent]:
        """Recent events, newest first; `address`: only events naming it (any address
        argument or the sender); `before`: (block, log_index) to page from."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
