"""The `framemesh` command."""

from __future__ import annotations

import typer

from framemesh import __version__
from framemesh.cli.demo import demo
from framemesh.cli.nodes import gateway_app, orchestrator_app
from framemesh.cli.transcode import transcode

app = typer.Typer(
    name="framemesh",
    help="framemesh: an open, decentralized network for AI video.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(orchestrator_app, name="orchestrator")
app.add_typer(gateway_app, name="gateway")
app.command()(transcode)
app.command()(demo)


@app.command()
def version() -> None:
    """Print framemesh's version."""
    typer.echo(__version__)
