"""Reading a node's /metrics back, as Prometheus would: with prometheus_client's parser."""

from __future__ import annotations

import re

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

# What a stream, job or key id looks like (hex or a uuid): never a label's value.
ID_LIKE = re.compile(r"[0-9a-f]{12,}|[0-9a-f]{8}-[0-9a-f]{4}-|fmk_")


class Scrape:
    """One scrape: its families by name, and each sample's value by (name, labels)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families: dict[str, Metric] = {f.name: f for f in text_string_to_metric_families(text)}

    def value(self, sample: str, **labels: str) -> float:
        """The sum of `sample`'s values whose labels include `labels` (0 if none)."""
        return sum(
            s.value for f in self.families.values() for s in f.samples
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def label_values(self) -> set[str]:
        return {v for f in self.families.values() for s in f.samples for k, v in s.labels.items() if k != "le"}


def scrape(url: str, token: str | None = None) -> Scrape:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


def id_like_labels(found: Scrape) -> list[str]:
    """Label values that look like a stream, job or key id (there must be none)."""
    return sorted(v for v in found.label_values() if ID_LIKE.search(v.removeprefix("http://127.0.0.1")))
