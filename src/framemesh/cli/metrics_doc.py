"""`framemesh metrics-doc`: docs/metrics.md, made from both nodes' metric definitions."""

from __future__ import annotations

import typer

from framemesh.gateway.metrics import GatewayMetrics
from framemesh.net.metrics import render_markdown
from framemesh.orchestrator.metrics import OrchestratorMetrics


def metrics_page() -> str:
    """The reference page of every metric the gateway and the orchestrator serve."""
    return render_markdown({"gateway": GatewayMetrics().set.specs, "orchestrator": OrchestratorMetrics().set.specs})


def metrics_doc() -> None:
    """Print the metrics reference (docs/metrics.md) from the nodes' definitions:
    `framemesh metrics-doc > docs/metrics.md`."""
    typer.echo(metrics_page(), nl=False)
