"""The explorer's metrics: how far its index has come. Served by `framemesh explorer`
at /metrics, and by a gateway that mounts the explorer (on the gateway's /metrics)."""

from __future__ import annotations

from typing import Any, Callable

from framemesh.net.metrics import MetricSet, NodeMetrics
from framemesh.wire.explorer import IndexStatus

StatusOf = Callable[[Any], IndexStatus | None]


def index_readings(m: MetricSet, status_of: StatusOf) -> None:
    """The index's readings, taken from `status_of(node)` at scrape time (no sample
    before the indexer has made its file)."""

    def field(name: str, convert: Callable[[Any], float] = float) -> Callable[[Any], float | None]:
        def read(node: Any) -> float | None:
            status = status_of(node)
            value = getattr(status, name) if status is not None else None
            return None if value is None else convert(value)
        return read

    m.reading("framemesh_explorer_indexed_block", "Every block up to this one is in the explorer's index.",
              field("indexed_block"))
    m.reading("framemesh_explorer_head_block", "The chain head the explorer's indexer saw last.", field("head_block"))
    m.reading("framemesh_explorer_blocks_behind", "Blocks between the chain head and the explorer's index.",
              field("blocks_behind"))
    m.reading("framemesh_explorer_lagging", "1 when the explorer's pages may be out of date (far behind the head, "
              "or the indexer stalled), else 0.", field("lagging", lambda v: float(bool(v))))


class ExplorerMetrics(NodeMetrics):
    """The metrics of `framemesh explorer`, bound to its `Explorer`."""

    def __init__(self) -> None:
        super().__init__("explorer")
        index_readings(self.set, lambda explorer: explorer.index_status())
