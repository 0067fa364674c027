"""How far behind the index is, and where the chain is in its round. Pure.

Lagging follows Livepeer's subgraph-health check: compare the indexed block with the
chain head (a drift, because an indexer that has stopped says nothing by itself), and
also flag an indexer that has not looked at the head for a while.
"""

from __future__ import annotations

from framemesh.wire.explorer import IndexStatus

from .store import Meta


def index_status(
    meta: Meta, last_initialized_round: int | None, *, now: float, lag_blocks: int, stall_seconds: float
) -> IndexStatus:
    head = meta.head_block
    behind = max(0, head - meta.cursor) if head is not None else None
    seconds = None
    if meta.head_timestamp is not None and meta.cursor_timestamp is not None and behind is not None:
        seconds = float(max(0, meta.head_timestamp - meta.cursor_timestamp))
    clock = meta.clock
    current = start = progress = length = None
    if clock is not None:
        block = head if head is not None else meta.cursor
        current = clock.round_of(block)
        start = clock.start_of(current)
        length = clock.length
        progress = min(1.0, max(0.0, (block - start) / clock.length))
    reasons = []
    if head is None or meta.head_seen_at is None:
        reasons.append("the indexer has not read the chain head yet")
    else:
        if behind is not None and behind > lag_blocks:
            reasons.append(f"{behind} blocks behind the head (more than {lag_blocks})")
        stalled = now - meta.head_seen_at
        if stalled > stall_seconds:
            reasons.append(f"the indexer last read the head {stalled:.0f} s ago")
    return IndexStatus(
        chain_id=meta.chain_id,
        head_block=head,
        indexed_block=meta.cursor,
        blocks_behind=behind,
        seconds_behind=seconds,
        head_seen_at=meta.head_seen_at,
        current_round=current,
        round_initialized=current is not None and last_initialized_round == current,
        round_length=length,
        round_start_block=start,
        round_progress=progress,
        lagging=bool(reasons),
        lag_reason="; ".join(reasons) or None,
    )
