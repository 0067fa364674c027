"""The shared metrics machinery: registries of their own, readings, buckets, the
reference page and the Grafana dashboard checked against the definitions."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from framemesh.explorer.metrics import ExplorerMetrics
from framemesh.cli.metrics_doc import metrics_page
from framemesh.gateway.metrics import GatewayMetrics
from framemesh.net import metrics as net_metrics
from framemesh.net.api_errors import ApiError
from framemesh.net.metrics import MetricSet, MetricSpec, ScrapeCache, outcome_of, render_markdown
from framemesh.orchestrator.metrics import OrchestratorMetrics
from tests.e2e.scrape import Scrape

ROOT = Path(__file__).resolve().parents[2]
NODES = {"gateway": GatewayMetrics, "orchestrator": OrchestratorMetrics, "explorer": ExplorerMetrics}


def _all_specs() -> list[MetricSpec]:
    return [spec for make in NODES.values() for spec in make().set.specs]


def test_each_node_has_a_registry_of_its_own_and_none_uses_the_global_one() -> None:
    a, b = GatewayMetrics(), GatewayMetrics()
    a.jobs.labels("completed").inc()
    assert Scrape(a.set.scrape().decode()).value("framemesh_gateway_jobs_total", outcome="completed") == 1
    assert Scrape(b.set.scrape().decode()).value("framemesh_gateway_jobs_total", outcome="completed") == 0
    assert not [name for name in REGISTRY._names_to_collectors if name.startswith("framemesh_")]


def test_no_created_series() -> None:
    m = OrchestratorMetrics()
    m.segment("ok", 1.0)
    text = m.set.scrape().decode()
    assert "framemesh_orchestrator_segments_total" in text and "_created" not in text


@pytest.mark.parametrize("name", ["ROUND_TRIP_SECONDS", "AI_SECONDS", "WAIT_SECONDS", "REALTIME_RATIO"])
def test_bucket_sets_increase(name: str) -> None:
    buckets = getattr(net_metrics, name)
    assert all(a < b for a, b in zip(buckets, buckets[1:])), buckets
    assert buckets[0] > 0


def test_every_histogram_of_both_nodes_has_increasing_buckets() -> None:
    histograms = [s for s in _all_specs() if s.kind == "histogram"]
    assert len(histograms) >= 5
    for spec in histograms:
        assert all(a < b for a, b in zip(spec.buckets, spec.buckets[1:])), spec


def test_a_histogram_with_buckets_out_of_order_is_refused() -> None:
    with pytest.raises(ValueError, match="increase"):
        MetricSet("test").histogram("framemesh_x_seconds", "x", (0.1, 1.0, 0.5))


@pytest.mark.parametrize("name", ["x_total_things", "framemesh_x_total"])
def test_names_follow_the_conventions(name: str) -> None:
    with pytest.raises(ValueError, match="framemesh_"):
        MetricSet("test").counter(name, "x")


def test_names_units_and_labels_of_both_nodes() -> None:
    allowed = {"role", "version", "kind", "pipeline", "model", "outcome", "reason", "orchestrator", "capability", "state", "work"}
    for spec in _all_specs():
        assert spec.name.startswith("framemesh_"), spec
        assert set(spec.labels) <= allowed, spec
        assert not re.search(r"_(ms|milliseconds|minutes)$", spec.name), spec
        if "seconds" in spec.help.lower() and spec.kind == "histogram":
            assert spec.name.endswith("_seconds"), spec


def test_a_reading_gives_nothing_unbound_then_reads_the_node_at_scrape_time() -> None:
    m = MetricSet("test")
    m.reading("framemesh_things", "Things.", lambda node: node["n"])
    m.reading("framemesh_things_by_kind", "Things by kind.", lambda node: {("a", "b"): 2, ("c", "d"): 3}, ("x", "y"))
    m.reading("framemesh_done", "Done.", lambda node: None, kind="counter")
    assert Scrape(m.scrape().decode()).value("framemesh_things") == 0
    node = {"n": 1}
    m.bind(node)
    node["n"] = 5  # read when scraped, not when bound
    found = Scrape(m.scrape().decode())
    assert found.value("framemesh_things") == 5
    assert found.value("framemesh_things_by_kind", x="c", y="d") == 3
    assert found.families["framemesh_done"].type == "counter" and not found.families["framemesh_done"].samples


def test_build_info_names_the_role_and_version() -> None:
    from framemesh import __version__

    found = Scrape(GatewayMetrics().set.scrape().decode())
    assert found.value("framemesh_build_info", role="gateway", version=__version__) == 1


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (ApiError(503, "busy", "full"), "busy"),
        (ApiError(503, "worker_died", "dead"), "failed"),
        (ApiError(402, "payment_required", "pay"), "unpaid"),
        (ApiError(422, "invalid_media", "bad"), "refused"),
        (ApiError(500, "transcode_failed", "oops"), "failed"),
        (asyncio.CancelledError(), "cancelled"),
        (RuntimeError("bug"), "failed"),
    ],
)
def test_outcome_of_an_error(exc: BaseException, outcome: str) -> None:
    assert outcome_of(exc) == outcome


def test_the_scrape_cache_reads_at_most_once_per_max_age_and_keeps_values_when_a_read_fails() -> None:
    reads = []

    def read() -> dict[str, int]:
        reads.append(1)
        if len(reads) == 2:
            raise ConnectionError("chain down")
        return {"block": len(reads)}

    async def go() -> None:
        cache = ScrapeCache(read, max_age=60.0)
        await cache.refresh()
        await cache.refresh()
        assert (len(reads), cache.get("block")) == (1, 1)
        cache.max_age = 0.0
        await cache.refresh()  # fails: the last value stays, the failure is counted
        assert (cache.get("block"), cache.errors) == (1, 1)
        await cache.refresh()
        assert cache.get("block") == 3

    asyncio.run(go())


def test_a_name_with_two_meanings_is_refused_in_the_reference() -> None:
    a = MetricSpec("framemesh_x", "gauge", "one thing")
    b = MetricSpec("framemesh_x", "gauge", "another thing")
    with pytest.raises(ValueError, match="framemesh_x"):
        render_markdown({"gateway": [a], "orchestrator": [b]})


def test_docs_metrics_md_is_up_to_date() -> None:
    page = (ROOT / "docs" / "metrics.md").read_text()
    assert page == metrics_page(), "docs/metrics.md is stale: run `framemesh metrics-doc > docs/metrics.md`"
    for spec in _all_specs():
        assert f"`{spec.series}`" in page


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "framemesh.json").read_text())
    exprs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                exprs.append(node["expr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dashboard)
    return exprs


def test_the_grafana_dashboard_uses_only_metrics_that_exist() -> None:
    series: set[str] = set()
    for spec in _all_specs():
        series.add(spec.series)
        if spec.kind == "histogram":
            series |= {f"{spec.name}_bucket", f"{spec.name}_sum", f"{spec.name}_count"}
    exprs = _dashboard_exprs()
    assert len(exprs) >= 20
    used = {name for expr in exprs for name in re.findall(r"\bframemesh_[a-z0-9_]+", expr)}
    assert used - series == set(), "the dashboard asks for metrics no node serves"
    for expr in exprs:  # and only labels the metric has
        for name, labels in re.findall(r"\b(framemesh_[a-z0-9_]+)\{([^}]*)\}", expr):
            spec = next(s for s in _all_specs() if name in (s.series, f"{s.name}_bucket", f"{s.name}_count"))
            for label in re.findall(r"(\w+)\s*[!=]~?", labels):
                assert label in (*spec.labels, "le", "instance", "job"), (expr, label)
    # every row of the issue is there
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "framemesh.json").read_text())
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert len(rows) >= 5
