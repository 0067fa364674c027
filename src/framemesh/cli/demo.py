"""`framemesh demo`: a whole local network in one process, and a video through it.

Two orchestrators and a gateway on free loopback ports, real HTTP between them,
real encoding; nothing else to install or start.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from framemesh.cli.output import console, fail, setup_logging
from framemesh.gateway.config import DEFAULT_PROFILES


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
        return json.loads(response.read())  # type: ignore[no-any-return]


def demo(
    input: Annotated[Path | None, typer.Option("--input", help="A video to use instead of the generated clip.")] = None,
    out: Annotated[Path, typer.Option(help="Directory to write the HLS ladder to.")] = Path("framemesh-demo"),
    profiles: Annotated[str, typer.Option(help="Renditions, comma-separated.")] = ",".join(DEFAULT_PROFILES),
    duration: Annotated[float, typer.Option(min=1.0, max=600.0, help="Length of the generated clip, seconds.")] = 8.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "warning",
) -> None:
    """Start a gateway and two orchestrators locally and transcode a clip through them."""
    setup_logging(log_level)
    if input is not None and not input.is_file():
        fail(f"--input {input}: no such file")
    from framemesh.cli.transcode import transcode_via_gateway
    from framemesh.gateway.app import create_app as create_gateway
    from framemesh.gateway.config import GatewayConfig
    from framemesh.media.testclip import make_test_clip
    from framemesh.net.server import ServerThread
    from framemesh.orchestrator.app import create_app as create_orchestrator
    from framemesh.orchestrator.config import OrchestratorConfig
    from framemesh.sdk.client import GatewayRequestError
    with tempfile.TemporaryDirectory(prefix="framemesh-demo-") as tmp, ExitStack() as nodes:
        root = Path(tmp)
        source = input
        if source is None:
            source = root / "clip.mp4"
            with console.status("making a test clip"):
                make_test_clip(source, duration=duration, width=1280, height=720)
            console.print(f"made a {duration:g} s 1280x720 test clip with audio")
        orchestrators = []
        for i in (1, 2):
            config = OrchestratorConfig(data_dir=root / f"orchestrator-{i}", name=f"orchestrator-{i}", capacity=1)
            server = nodes.enter_context(ServerThread(create_orchestrator(config)))
            orchestrators.append((config.name, server.url))
            console.print(f"{config.name} listening on {server.url}")
        gateway = nodes.enter_context(
            ServerThread(
                create_gateway(
                    GatewayConfig(data_dir=root / "gateway", orchestrators=tuple(url for _, url in orchestrators))
                )
            )
        )
        console.print(f"gateway listening on {gateway.url}")
        try:
            status, master = asyncio.run(transcode_via_gateway(gateway.url, source, out, profiles))
        except GatewayRequestError as exc:
            fail(str(exc))
        if master is None:
            fail(f"job {status.id} {status.state}: {status.error or 'unknown error'}")
        table = Table(title="what each orchestrator did", title_justify="left")
        table.add_column("orchestrator")
        table.add_column("url")
        table.add_column("segments", justify="right")
        table.add_column("output pixels", justify="right")
        for name, url in orchestrators:
            metrics = _get_json(f"{url}/metrics")
            table.add_row(name, url, str(status.orchestrators.get(url, 0)), f"{metrics['pixels_done']:,}")
        console.print(table)
        console.print(f"{status.segments.total} segments, renditions {', '.join(status.profiles)}")
        console.print(f"master playlist: [bold]{master.resolve()}[/]", soft_wrap=True)
