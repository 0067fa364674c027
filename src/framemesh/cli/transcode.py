"""`framemesh transcode`: send a video to a gateway, follow it with a progress bar,
download the finished HLS ladder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from framemesh.cli.output import console, fail
from framemesh.gateway.config import DEFAULT_PROFILES
from framemesh.sdk.client import GatewayClient, GatewayRequestError
from framemesh.wire.gateway import JobStatus


async def transcode_via_gateway(
    gateway: str, video: Path, out: Path, profiles: str, *, timeout: float | None = None, token: str | None = None
) -> tuple[JobStatus, Path | None]:
    """Submit, follow and download, drawing progress; returns the final status and the local master.
    `token`: the API key (the environment's otherwise)."""
    async with GatewayClient(gateway, token=token) as client:
        accepted = await client.submit(video, profiles)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[state]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task(f"job {accepted.id}", total=None, state="queued")

            def show(status: JobStatus) -> None:
                bar.update(
                    task,
                    total=status.segments.total,
                    completed=status.segments.done,
                    state=status.state,
                )

            status = await client.wait(accepted.id, on_progress=show, timeout=timeout)
            if status.state != "completed":
                return status, None
            files = status.outputs.files if status.outputs else []
            fetch = bar.add_task("download", total=len(files), state="")
            master = await client.download(status, out, on_file=lambda _: bar.advance(fetch))
        return status, master


def transcode(
    file: Annotated[Path, typer.Argument(help="The video to transcode.")],
    gateway: Annotated[str, typer.Option(help="The gateway's URL.")] = "http://127.0.0.1:8936",
    out: Annotated[Path, typer.Option(help="Directory to write the HLS ladder to.")] = Path("ladder"),
    profiles: Annotated[str, typer.Option(help="Renditions, comma-separated.")] = ",".join(DEFAULT_PROFILES),
) -> None:
    """Transcode FILE into an adaptive-bitrate HLS ladder through a gateway."""
    if not file.is_file():
        fail(f"{file}: no such file")
    try:
        status, master = asyncio.run(transcode_via_gateway(gateway, file, out, profiles))
    except GatewayRequestError as exc:
        fail(str(exc))
    if master is None:
        fail(f"job {status.id} {status.state}: {status.error or 'unknown error'}")
    console.print(f"master playlist: [bold]{master}[/]", soft_wrap=True)
