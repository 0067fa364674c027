"""The `framemesh` command."""

from __future__ import annotations

import typer

from framemesh import __version__
from framemesh.cli.ai_jobs import ai_app
from framemesh.cli.api_keys import api_keys_app
from framemesh.cli.demo import demo
from framemesh.cli.explorer import explorer
from framemesh.cli.nodes import gateway_app, orchestrator_app
from framemesh.cli.protocol_cmds import (
    chain_app,
    deposit_app,
    orchestrator_register,
    protocol_app,
    round_app,
    stake_app,
)
from framemesh.cli.metrics_doc import metrics_doc
from framemesh.cli.models import models_app
from framemesh.cli.protocol_sim import simulate
from framemesh.cli.scores import scores
from framemesh.cli.provenance import keys_app, verify
from framemesh.cli.stream import stream_app
from framemesh.cli.transcode import transcode

app = typer.Typer(
    name="framemesh",
    help="framemesh: an open, decentralized network for AI video.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
orchestrator_app.command("register")(orchestrator_register)
keys_app.add_typer(api_keys_app, name="api")
protocol_app.command("simulate")(simulate)
app.add_typer(orchestrator_app, name="orchestrator")
app.add_typer(gateway_app, name="gateway")
app.add_typer(chain_app, name="chain")
app.add_typer(protocol_app, name="protocol")
app.add_typer(round_app, name="round")
app.add_typer(stake_app, name="stake")
app.add_typer(deposit_app, name="deposit")
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")
app.add_typer(ai_app, name="ai")
app.add_typer(stream_app, name="stream")
app.command()(verify)
app.command()(transcode)
app.command()(demo)
app.command("metrics-doc")(metrics_doc)
app.command()(explorer)
app.command()(scores)


@app.command()
def version() -> None:
    """Print framemesh's version."""
    typer.echo(__version__)
