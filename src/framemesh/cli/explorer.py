"""`framemesh explorer`: index a chain and serve the explorer's pages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from framemesh.cli.chain_context import DEFAULT_DEPLOYMENT, DeploymentOption, RpcOption, DEFAULT_RPC, connect
from framemesh.cli.output import console, fail, setup_logging


def explorer(
    rpc: RpcOption = DEFAULT_RPC,
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port to serve the pages on.")] = 8937,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    db: Annotated[Path, typer.Option(help="The index's SQLite file (made if missing; resumed if there).")] = Path(
        "framemesh-data/explorer.sqlite"
    ),
    gateway: Annotated[str | None, typer.Option(help="A gateway's URL: its orchestrators' success rates, scores, payments and streams.")] = None,
    gateway_token: Annotated[str | None, typer.Option(envvar="FRAMEMESH_GATEWAY_TOKEN", help="An operator's token for --gateway (its /payments and /streams need one).")] = None,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between looks at the chain head.")] = 2.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Index the chain's protocol events into SQLite, follow the head, and serve the explorer's pages."""
    setup_logging(log_level)
    if gateway_token and not gateway:
        fail("--gateway-token is for a gateway: give its URL with --gateway", 2)
    ctx = connect(rpc, deployment=deployment)
    protocol = ctx.need_protocol()
    from framemesh.explorer.service import build_explorer, explorer_app
    from framemesh.explorer.sources import HttpGateway
    from framemesh.net.server import serve_forever

    db.parent.mkdir(parents=True, exist_ok=True)
    facts = HttpGateway(gateway, gateway_token) if gateway else None
    built = build_explorer(protocol, db, gateway=facts, follow_interval=interval)
    console.print(f"explorer of chain {ctx.chain.chain_id} ({rpc}) at http://{host}:{port}/, index {db}", soft_wrap=True)
    serve_forever(explorer_app(built), host=host, port=port, log_level=log_level)
