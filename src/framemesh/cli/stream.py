"""`framemesh stream`: live streams on a gateway.

    framemesh stream create --name "launch" --profiles 720p,480p,360p --record
    framemesh stream push talk.mp4 --stream ID        # in real time, as OBS or a camera would
    framemesh stream list;  framemesh stream status ID;  framemesh stream end ID

Live AI: the stream's output is a model's processing of it, steered while it plays.

    framemesh stream create --ai framemesh/tiny-sd --param prompt="a fox" --param strength=0.5
    framemesh stream control ID prompt="a whale"     # from the next segment on
    framemesh stream events ID                       # fps in and out, dropped, latency, swaps, settings
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from framemesh.cli.ai_jobs import StageSyntaxError, parse_params
from framemesh.cli.gateway_call import ask
from framemesh.cli.output import console, fail
from framemesh.media.errors import MediaError
from framemesh.sdk.client import GatewayClient
from framemesh.wire.live import StreamOut

stream_app = typer.Typer(help="Live streams: create one, push to it, follow it, end it.", no_args_is_help=True)
GATEWAY = typer.Option(help="The gateway's URL.")


def show(s: StreamOut) -> None:
    table = Table(title=f"stream {s.id} {s.name!r}: {s.state}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("rtmp", s.rtmp_url or "(the gateway does not listen for RTMP)"),
        ("push", f"{s.push_url}/{{seq}}.ts"),
        ("playback", s.playback_url),
        ("player", s.player_url),
        ("profiles", ", ".join(s.profiles) + (" (recorded)" if s.record else "")),
        ("segments", f"{s.segments.listed} listed of {s.segments.received} received, {s.segments.skipped} skipped, "
                     f"{s.segments.in_flight} in work"),
        ("orchestrator", f"{s.orchestrator or '-'}; {s.swaps} swap(s); per orchestrator {s.orchestrators or '-'}"),
        ("latency", "-" if s.latency.median is None else
         f"median {s.latency.median:.2f} s, p95 {s.latency.p95:.2f} s, round trip {s.latency.round_trip_median or 0:.2f} s"),
        ("fees", f"{s.fees_wei} wei"),
    ]
    if s.ai is not None:
        ai = s.ai
        keeps = "-" if ai.fps_out is None else f"{ai.fps_out:g} of {ai.fps_in:g} fps processed, {100 * (ai.dropped or 0):.0f}% dropped"
        rows += [("ai model", ai.model_id), ("ai settings", str(ai.params)), ("ai keeps up", keeps)]
        for c in ai.controls[-3:]:
            rows.append((f"change {c.n}", f"{c.state}" + (f" at segment {c.effective_seq}, {c.seconds_to_effect} s after"
                                                         if c.effective_seq is not None else "") + (f": {c.error}" if c.error else "")))
    if s.recording_url:
        rows.append(("recording", s.recording_url))
    if s.error:
        rows.append(("error", f"[red]{s.error}[/]"))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table, soft_wrap=True)


@stream_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="A label for people.")] = "",
    profiles: Annotated[str | None, typer.Option(help="Renditions, e.g. 720p,480p,360p (the gateway's default otherwise).")] = None,
    record: Annotated[bool, typer.Option(help="Keep the whole stream as a video-on-demand ladder when it ends.")] = False,
    ai: Annotated[str | None, typer.Option(help="A live AI model (live-video-to-video) to process the stream with.")] = None,
    param: Annotated[list[str] | None, typer.Option(help="A setting of the AI model, KEY=VALUE (repeat).")] = None,
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
) -> None:
    """Create a live stream; prints its key and where to push and play."""
    if param and not ai:
        fail("--param sets the AI model's settings: give the model with --ai")
    params = _params(param or [])
    s = ask(gateway, lambda c: c.create_stream(name, profiles, record, ai_model=ai, params=params))
    show(s)
    console.print(f"stream key: [bold]{s.stream_key}[/] (keep it secret: whoever has it can publish)", soft_wrap=True)


@stream_app.command("control")
def control(
    stream_id: Annotated[str, typer.Argument(help="The stream's id.")],
    settings: Annotated[list[str], typer.Argument(help="KEY=VALUE settings of its AI model.")],
    replace: Annotated[bool, typer.Option(help="Replace every setting instead of merging these in.")] = False,
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
) -> None:
    """Change a live AI stream's settings (a prompt, a strength, ...): the next segment is made with them."""
    params = _params(settings)
    change = ask(gateway, lambda c: c.control_stream(stream_id, params, replace))
    console.print(f"change {change.n}: {change.state}; settings from the next segment: {change.params}", soft_wrap=True)


@stream_app.command("events")
def events(
    stream_id: Annotated[str, typer.Argument(help="The stream's id.")],
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
) -> None:
    """Follow a stream's events (each segment's figures, swaps, settings, errors) until it ends."""

    async def follow(client: GatewayClient) -> None:
        async for kind, data in client.stream_events(stream_id):
            console.print(f"[bold]{kind}[/] {data}", soft_wrap=True)

    try:
        ask(gateway, follow)
    except KeyboardInterrupt:
        pass


def _params(items: list[str]) -> dict[str, Any]:
    try:
        return parse_params(items)
    except StageSyntaxError as exc:
        fail(str(exc))
        raise


@stream_app.command("list")
def list_streams(gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936") -> None:
    """The gateway's streams, newest first."""
    streams = ask(gateway, lambda c: c.streams())
    table = Table(title=f"{len(streams)} streams", title_justify="left")
    for column in ("id", "name", "state", "listed", "skipped", "latency (median s)", "orchestrator"):
        table.add_column(column)
    for s in streams:
        table.add_row(s.id, s.name, s.state, str(s.segments.listed), str(s.segments.skipped),
                      "-" if s.latency.median is None else f"{s.latency.median:.2f}", s.orchestrator or "")
    console.print(table)


@stream_app.command("status")
def status(
    stream_id: Annotated[str, typer.Argument(help="The stream's id.")],
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
    as_json: Annotated[bool, typer.Option("--json", help="Print the gateway's JSON.")] = False,
) -> None:
    """One stream: its state, segments, orchestrators, round trips and latency."""
    s = ask(gateway, lambda c: c.stream(stream_id))
    if as_json:
        console.print_json(s.model_dump_json())
    else:
        show(s)


@stream_app.command("end")
def end(
    stream_id: Annotated[str, typer.Argument(help="The stream's id.")],
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
) -> None:
    """End a stream: its playlists end, its recording (if any) is written."""
    show(ask(gateway, lambda c: c.end_stream(stream_id)))


@stream_app.command("push")
def push(
    file: Annotated[Path, typer.Argument(help="The video to send.")],
    stream_id: Annotated[str, typer.Option("--stream", help="The stream's id.")],
    loops: Annotated[int, typer.Option(min=1, help="Send the file this many times over, back to back.")] = 1,
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
) -> None:
    """Send FILE to a stream in real time over RTMP, as a camera or OBS would."""
    from framemesh.media.push import push_realtime

    if not file.is_file():
        fail(f"{file}: no such file")
    s = ask(gateway, lambda c: c.stream(stream_id))
    if s.rtmp_url is None:
        fail("this gateway does not listen for RTMP: start it with --rtmp-port 1935 (or push segments to push_url)")
    if s.state in ("ended", "failed"):
        fail(f"stream {s.id} has {s.state}")
    from framemesh.media.probe import probe

    try:
        total = probe(file).duration * loops
    except MediaError as exc:
        fail(str(exc))
    started = time.monotonic()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[at]}"),
                  TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(f"pushing to {s.id}", total=total, at="")
        try:
            sent = push_realtime(file, s.rtmp_url, loops=loops,
                                 on_progress=lambda at: bar.update(task, completed=at, at=f"{at:.1f} / {total:.1f} s"))
        except MediaError as exc:
            fail(str(exc))
        bar.update(task, completed=total)
    console.print(f"sent {sent:.1f} s in {time.monotonic() - started:.1f} s; watch it at {s.player_url}", soft_wrap=True)
