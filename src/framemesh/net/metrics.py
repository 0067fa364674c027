"""Prometheus metrics for a node: its own registry, the kinds of metric it defines, the
`/metrics` route, and the reference page (docs/metrics.md) built from the definitions.

Several nodes can run in one process (the demo, the tests), so each node builds its
own `MetricSet` on its own `CollectorRegistry`, never prometheus_client's global one.
A node defines two kinds of metric on it:

- events, counted where they are decided: `counter` and `histogram` (prometheus_client's
  own objects; the caller increments or observes them);
- readings of what the node already keeps (counts, balances, slots), taken when it is
  scraped: `reading(name, help, read, labels=..., kind=...)`, where `read(node)` returns
  a number, a {label values: number} mapping, or None (no sample). The node is given by
  `bind(node)`; an unbound set (the doc generator, a test) defines everything and
  gives no samples of its readings. A new gauge is one line:

      m.reading("framemesh_indexed_block", "The newest block the indexer has read.",
                lambda node: node.indexer.block)

Conventions (docs/metrics.md states them to readers): names start with `framemesh_`;
times are in seconds and values in wei; counters end in `_total`; labels are few and
bounded (role, kind, pipeline, model, outcome, reason, orchestrator, capability),
never a stream, job or key id or a client's address.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.params import Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from framemesh import __version__
from framemesh.net.api_errors import ApiError

log = logging.getLogger("framemesh.net")

# A `_created` series per counter and histogram doubles what a scrape carries and no
# dashboard of ours reads it. prometheus_client decides this process-wide, when each
# series is made: off before any node defines its metrics.
disable_created_metrics()

PREFIX = "framemesh_"

# Bucket sets (seconds, or a ratio), each increasing; tests check them.
# A segment's round trip: upload, transcode, download (2 s segments; a slow node takes 10+).
ROUND_TRIP_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0, 120.0)
# An AI request: a tiny model answers in a tenth of a second, a video model in minutes.
AI_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)
# Time in the gateway's line waiting for a free orchestrator (most waits are 0).
WAIT_SECONDS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# Segment duration / round trip: under 1 a live stream falls behind.
REALTIME_RATIO = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0)

Kind = Literal["counter", "gauge", "histogram"]
Value = float | int | None
Read = Callable[[Any], Value | Mapping[Any, float | int]]


@dataclass(frozen=True)
class MetricSpec:
    """One metric as docs/metrics.md describes it."""

    name: str  # the family's name; a counter's samples end in `_total`
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()

    @property
    def series(self) -> str:
        """The name a query uses (a histogram's adds _bucket, _sum, _count)."""
        return f"{self.name}_total" if self.kind == "counter" else self.name


class MetricSet:
    """One node's metrics: its registry and what each metric is."""

    def __init__(self, role: str) -> None:
        self.role = role
        self.registry = CollectorRegistry(auto_describe=True)
        self.specs: list[MetricSpec] = []
        self.node: Any = None
        self.gauge("framemesh_build_info", "Always 1: the node's role and framemesh version.", ("role", "version")).labels(
            role, __version__
        ).set(1)

    def bind(self, node: Any) -> None:
        """The object readings read from (until then they give no samples)."""
        self.node = node

    def _spec(self, name: str, kind: Kind, help: str, labels: Sequence[str], buckets: Sequence[float] = ()) -> MetricSpec:
        if not name.startswith(PREFIX) or name.endswith("_total"):
            raise ValueError(f"metric {name!r}: names start with {PREFIX!r} and counters get _total added, not written")
        if any(s.name == name for s in self.specs):
            raise ValueError(f"metric {name!r} is defined twice")
        spec = MetricSpec(name, kind, help, tuple(labels), tuple(float(b) for b in buckets))
        self.specs.append(spec)
        return spec

    def counter(self, name: str, help: str, labels: Sequence[str] = ()) -> Counter:
        self._spec(name, "counter", help, labels)
        return Counter(name, help, labels, registry=self.registry)

    def gauge(self, name: str, help: str, labels: Sequence[str] = ()) -> Gauge:
        self._spec(name, "gauge", help, labels)
        return Gauge(name, help, labels, registry=self.registry)

    def histogram(self, name: str, help: str, buckets: Sequence[float], labels: Sequence[str] = ()) -> Histogram:
        if list(buckets) != sorted(set(buckets)):
            raise ValueError(f"metric {name!r}: buckets must increase, got {buckets}")
        self._spec(name, "histogram", help, labels, buckets)
        return Histogram(name, help, labels, buckets=buckets, registry=self.registry)

    def reading(
        self, name: str, help: str, read: Read, labels: Sequence[str] = (), kind: Literal["gauge", "counter"] = "gauge"
    ) -> None:
        """A metric read from the bound node at scrape time (see the module's doc)."""
        spec = self._spec(name, kind, help, labels)
        self.registry.register(_Reading(spec, read, self))

    def scrape(self) -> bytes:
        """The Prometheus text format of everything now."""
        return generate_latest(self.registry)


class _Reading(Collector):
    def __init__(self, spec: MetricSpec, read: Read, owner: MetricSet) -> None:
        self.spec = spec
        self.read = read
        self.owner = owner

    def _family(self) -> Metric:
        family = CounterMetricFamily if self.spec.kind == "counter" else GaugeMetricFamily
        return family(self.spec.name, self.spec.help, labels=self.spec.labels)

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        if self.owner.node is not None:
            for labels, value in _samples(self.read(self.owner.node)):
                family.add_metric(labels, float(value))
        yield family


def _samples(value: Value | Mapping[Any, float | int]) -> Iterator[tuple[list[str], float | int]]:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, v in value.items():
            yield [str(k) for k in (key if isinstance(key, tuple) else (key,))], v
    else:
        yield [], value


def outcome_of(exc: BaseException) -> str:
    """How a node's piece of work ended, from the error it ended with: busy (at
    capacity), unpaid (402), refused (the request's fault, 4xx), cancelled, failed."""
    if isinstance(exc, ApiError):
        if exc.status == 503 and exc.code == "busy":
            return "busy"
        if exc.status == 402:
            return "unpaid"
        return "refused" if exc.status < 500 else "failed"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "failed"


class ScrapeCache:
    """Values that cost I/O to read (the chain's): read in a thread when a scrape finds
    them older than `max_age` seconds, so scrapes cost the chain at most one read each
    `max_age`. A failed read keeps the last values (and is counted in `errors`)."""

    def __init__(self, read: Callable[[], Mapping[str, float | int]], max_age: float = 5.0) -> None:
        self._read = read
        self.max_age = max_age
        self.values: dict[str, float | int] = {}
        self.read_at: float | None = None  # monotonic
        self.errors = 0
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            if self.read_at is not None and time.monotonic() - self.read_at < self.max_age:
                return
            try:
                self.values = dict(await asyncio.to_thread(self._read))
            except Exception as exc:  # the chain may be down for a moment: keep the last values
                self.errors += 1
                log.warning("reading chain values for /metrics: %s", exc)
            self.read_at = time.monotonic()

    def get(self, name: str) -> float | int | None:
        return self.values.get(name)


class NodeMetrics:
    """What both nodes' metrics have: a `MetricSet`, and on a chain the values read from
    it (`chain`, a `ScrapeCache` set when the node is bound), with the chain metrics
    both serve (the cache's values "block" and "round")."""

    def __init__(self, role: str) -> None:
        self.set = MetricSet(role)
        self.chain: ScrapeCache | None = None

    def chain_value(self, name: str) -> Read:
        """A reading of the chain's value `name` (no sample off-chain)."""
        return lambda node: self.chain.get(name) if self.chain is not None else None

    def chain_readings(self) -> None:
        m = self.set
        m.reading("framemesh_chain_head_block", "The chain's newest block, as this node last read it.",
                  self.chain_value("block"))
        m.reading("framemesh_current_round", "The protocol's current round.", self.chain_value("round"))
        m.reading("framemesh_chain_read_errors", "Reads of the chain for these metrics that failed (the last values "
                  "stay).", lambda node: self.chain.errors if self.chain is not None else None, kind="counter")

    async def before_scrape(self) -> None:
        """Before each scrape: the chain's values, if they are older than the cache allows."""
        if self.chain is not None:
            await self.chain.refresh()


METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/plain": {"schema": {"type": "string"}}},
        "description": "Every metric of this node in the Prometheus text format (docs/metrics.md).",
    }
}


def install_metrics_route(
    app: FastAPI, metrics: MetricSet, *, before: Callable[[], Awaitable[None]] | None = None,
    dependencies: Sequence[Depends] = (), responses: Mapping[int | str, dict[str, Any]] | None = None,
) -> None:
    """`GET /metrics`; `before()` runs first (a `ScrapeCache.refresh`)."""

    @app.get(
        "/metrics", response_class=Response, dependencies=list(dependencies),
        responses={**METRICS_RESPONSES, **(responses or {})}, tags=["monitoring"],
    )
    async def get_metrics() -> Response:
        """This node's metrics, for Prometheus (docs/metrics.md lists them)."""
        if before is not None:
            await before()
        return Response(metrics.scrape(), media_type=CONTENT_TYPE_LATEST)


# The reference page -------------------------------------------------------------------

_INTRO = """\
# Metrics

The nodes serve their metrics at `GET /metrics` in the Prometheus text format: the
orchestrator and `framemesh explorer` to anyone, the gateway to its operator (see
[monitoring.md](monitoring.md) for the scrape configuration and the Grafana dashboard).
A gateway on a chain also serves its explorer's index metrics (`framemesh_explorer_...`,
once the explorer has been opened).

This page is generated from the nodes' definitions (`framemesh metrics-doc >
docs/metrics.md`); a test fails when it is out of date. Names never change once
released.

- Names start with `framemesh_`. A name both nodes serve means the same on both; what
  only one node counts is named for it (`framemesh_gateway_...`,
  `framemesh_orchestrator_...`) where the other could be confused with it.
- Times are in seconds, money in wei; counters end in `_total`, histograms have
  `_bucket`, `_sum` and `_count` series; no `_created` series.
- Labels are few and bounded: `outcome` (`ok`, `busy`, `unpaid`, `refused`, `failed`,
  `bad_result`, `cancelled`, ...), `kind`, `pipeline`, `model`, `reason`,
  `capability`, `orchestrator` (an orchestrator's URL, bounded by the network's size),
  `work` (`transcode`, or `pipeline/model` of a model an orchestrator serves).
  Never a stream, job or API key id, nor a client's address. A model or pipeline no
  one serves is counted as `other`.
- Counters start at 0 when a node starts (Prometheus' `rate()` and `increase()` handle
  the reset); values read from the chain are refreshed at most every 5 seconds, when
  scraped.
"""


def render_markdown(sets: Mapping[str, Sequence[MetricSpec]]) -> str:
    """docs/metrics.md: each metric once, with the nodes that serve it ({node: specs})."""
    rows: dict[MetricSpec, list[str]] = {}
    for node, specs in sets.items():
        for spec in specs:
            rows.setdefault(spec, []).append(node)
    names = [s.name for s in rows]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(f"{clash} mean different things on different nodes: give each its own name")
    out = [_INTRO, "| metric | type | labels | node | what it is |", "| --- | --- | --- | --- | --- |"]
    for spec, nodes in sorted(rows.items(), key=lambda item: item[0].name):
        labels = ", ".join(f"`{label}`" for label in spec.labels) or "–"
        out.append(f"| `{spec.series}` | {spec.kind} | {labels} | {', '.join(nodes)} | {spec.help} |")
    histograms = sorted((s for s in rows if s.kind == "histogram"), key=lambda s: s.name)
    if histograms:
        out += ["", "## Histogram buckets", "", "| histogram | upper bounds (`le`) |", "| --- | --- |"]
        for spec in histograms:
            out.append(f"| `{spec.name}` | {', '.join(f'{b:g}' for b in spec.buckets)}, +Inf |")
    return "\n".join(out) + "\n"
