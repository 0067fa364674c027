"""`framemesh orchestrator ...` and `framemesh gateway ...`: run a node in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from framemesh.cli.output import console, fail, setup_logging
from framemesh.gateway.config import GatewayConfig
from framemesh.media.profiles import PROFILES
from framemesh.orchestrator.config import OrchestratorConfig

orchestrator_app = typer.Typer(help="Run an orchestrator: the node that sells transcoding work.", no_args_is_help=True)
gateway_app = typer.Typer(help="Run a gateway: the node that takes jobs and buys work.", no_args_is_help=True)


def _print_config(title: str, values: dict[str, object]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in values.items():
        table.add_row(key, str(value))
    console.print(table)


@orchestrator_app.command("start")
def orchestrator_start(
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8935,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    name: Annotated[str, typer.Option(help="Name shown to gateways (defaults to orchestrator-PORT).")] = "",
    capacity: Annotated[int, typer.Option(min=1, help="Segments transcoded at once; past that, 503.")] = 2,
    price_per_pixel: Annotated[int, typer.Option(min=0, help="Price in wei per output pixel.")] = 1,
    profiles: Annotated[str, typer.Option(help="Profiles offered, comma-separated.")] = ",".join(PROFILES),
    data_dir: Annotated[Path, typer.Option(help="Where work files go.")] = Path("framemesh-data/orchestrator"),
    max_segment_mb: Annotated[int, typer.Option(min=1, help="Largest segment accepted, in MiB.")] = 64,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Start an orchestrator node and serve until interrupted."""
    setup_logging(log_level)
    try:
        config = OrchestratorConfig(
            data_dir=data_dir,
            name=name or f"orchestrator-{port}",
            host=host,
            port=port,
            capacity=capacity,
            price_per_pixel=price_per_pixel,
            profiles=tuple(p.strip() for p in profiles.split(",") if p.strip()),
            max_segment_bytes=max_segment_mb * 1024 * 1024,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    _print_config("orchestrator", config.describe())
    from framemesh.net.server import serve_forever
    from framemesh.orchestrator.app import create_app

    serve_forever(create_app(config), host=host, port=port, log_level=log_level)


@gateway_app.command("start")
def gateway_start(
    orchestrator: Annotated[
        list[str], typer.Option("--orchestrator", "-o", help="An orchestrator's URL; repeat for several.")
    ],
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8936,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="Where jobs, outputs and the SQLite store go.")] = Path(
        "framemesh-data/gateway"
    ),
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest upload accepted, in MiB.")] = 1024,
    segment_timeout: Annotated[float, typer.Option(help="Seconds an orchestrator gets per segment.")] = 120.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Start a gateway node and serve until interrupted."""
    setup_logging(log_level)
    try:
        config = GatewayConfig(
            data_dir=data_dir,
            orchestrators=tuple(url.rstrip("/") for url in orchestrator),
            host=host,
            port=port,
            max_upload_bytes=max_upload_mb * 1024 * 1024,
            segment_timeout=segment_timeout,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    _print_config("gateway", config.describe())
    from framemesh.gateway.app import create_app
    from framemesh.net.server import serve_forever

    serve_forever(create_app(config), host=host, port=port, log_level=log_level)
