"""`framemesh metrics-doc`: docs/metrics.md, made from the nodes' metric definitions."""

from __future__ import annotations

import typer

from framemesh.explorer.metrics import ExplorerMetrics
from framemesh.gateway.metrics import GatewayMetrics
from framemesh.net.metrics import render_markdown
from framemesh.orchestrator.metrics import OrchestratorMetrics


def metrics_page() -> str:
    """The reference page of every metric the gateway, the orchestrator and the explorer serve."""
    return render_markdown({"gateway": GatewayMetrics().set.specs, "orchestrator": OrchestratorMetrics().set.specs,
                            "explorer": ExplorerMetrics().set.specs})


def metrics_doc() -> None:
    """Print the metrics reference (docs/metrics.md) from the nodes' definitions:
    `framemesh metrics-doc > docs/metrics.md`."""
    typer.echo(metrics_page(), nl=False)
