"""`framemesh ai`: run a staged AI job through a gateway with a progress bar, and look
at the AI jobs a gateway has run.

    framemesh ai run --stage 'text-to-image prompt="a lighthouse at dusk" width=256 height=256 seed=7' \\
                     --stage 'upscale@realesrgan/x2' --out lighthouse
    framemesh ai run --stage 'upscale' --upload image=photo.png
    framemesh ai run --stages job.json --upload audio=talk.wav
    framemesh ai jobs;  framemesh ai status JOB_ID;  framemesh ai cancel JOB_ID

A stage is `PIPELINE[@MODEL] [id=NAME] [in.FIELD=STAGE] [FIELD=VALUE ...]`, read like
a shell line: `id=` names the stage, `in.image=picture` takes the output of the stage
named (or numbered) `picture`, every other `FIELD=VALUE` is a request field (a JSON
number, true/false or null when it reads as one, else text).
"""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from framemesh.cli.gateway_call import ask
from framemesh.cli.output import console, fail
from framemesh.sdk.client import GatewayClient, GatewayRequestError
from framemesh.wire.gateway import AIJobStatus

ai_app = typer.Typer(help="Run staged AI jobs through a gateway; list the AI jobs it ran.", no_args_is_help=True)
GATEWAY = typer.Option(help="The gateway's URL.")


class StageSyntaxError(ValueError):
    pass


def parse_stage(text: str) -> dict[str, Any]:
    """One `--stage` into the JSON the gateway takes (see the module's docstring)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise StageSyntaxError(f"{text!r}: {exc}") from None
    if not words:
        raise StageSyntaxError("an empty --stage: start it with the pipeline, e.g. 'upscale@realesrgan/x2'")
    head, *rest = words
    if "=" in head:
        raise StageSyntaxError(f"{text!r}: start with the pipeline, e.g. 'text-to-image prompt=\"a boat\"'")
    pipeline, _, model = head.partition("@")
    stage: dict[str, Any] = {"pipeline": pipeline}
    if model:
        stage["model_id"] = model
    params: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    for word in rest:
        key, value = _pair(word, text)
        if key == "id":
            stage["id"] = value
        elif key.startswith("in."):
            inputs[key[3:]] = int(value) if value.isdigit() else value
        else:
            params[key] = _value(value)
    if params:
        stage["params"] = params
    if inputs:
        stage["inputs"] = inputs
    return stage


def _pair(word: str, where: str) -> tuple[str, str]:
    key, sep, value = word.partition("=")
    if not sep or not key:
        raise StageSyntaxError(f"{word!r} in {where!r}: write FIELD=VALUE")
    return key, value


def parse_params(items: list[str]) -> dict[str, Any]:
    """KEY=VALUE words into settings; a value that reads as a JSON number, true, false or
    null is one, anything else is text."""
    params: dict[str, Any] = {}
    for item in items:
        key, value = _pair(item, item)
        params[key] = _value(value)
    return params


def _value(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool)) or value is None else text


def parse_uploads(items: list[str]) -> dict[str, Path]:
    uploads: dict[str, Path] = {}
    for item in items:
        field, sep, path = item.partition("=")
        if not sep or field not in ("image", "audio", "video"):
            raise StageSyntaxError(f"--upload {item!r}: write image=FILE, audio=FILE or video=FILE")
        if not Path(path).is_file():
            raise StageSyntaxError(f"--upload {item!r}: {path}: no such file")
        uploads[field] = Path(path)
    return uploads


async def run_job(
    gateway: str, stages: list[dict[str, Any]], uploads: dict[str, Path], out: Path, timeout: float | None = None
) -> tuple[AIJobStatus, list[Path]]:
    """Submit, follow with a progress bar, download the results; returns the status and the files."""
    async with GatewayClient(gateway) as client:
        accepted = await client.submit_ai_job(stages, dict(uploads))
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[state]}"), TimeElapsedColumn(), console=console,
        ) as bar:
            task = bar.add_task(f"AI job {accepted.id}", total=len(stages), state="queued")

            def show(status: AIJobStatus) -> None:
                running = [f"{s.index}:{s.pipeline} {s.progress:.0%}" for s in status.stages if s.state == "running"]
                done = sum(s.progress for s in status.stages)  # a running stage counts its denoising steps
                bar.update(task, completed=done, state=status.state + (f" ({', '.join(running)})" if running else ""))

            status = await client.wait_ai_job(accepted.id, on_progress=show, timeout=timeout)
        files = []
        if status.state == "completed":
            for output in status.outputs:
                files.append(await client.fetch(output.url, out / Path(output.url).parent.name / Path(output.url).name))
    return status, files


def show_job(status: AIJobStatus) -> None:
    table = Table(title=f"AI job {status.id} ({status.kind}): {status.state}", title_justify="left")
    for column in ("stage", "pipeline", "model", "state", "orchestrator", "units", "price (wei)", "seconds"):
        table.add_column(column, justify="right" if column in ("units", "price (wei)", "seconds") else "left")
    for s in status.stages:
        table.add_row(
            str(s.index), s.pipeline, s.model_id, s.state, s.orchestrator or "", _str(s.units), _str(s.price),
            "" if s.seconds is None else f"{s.seconds:.2f}",
        )
    console.print(table)
    if status.error:
        console.print(f"[red]error:[/] {status.error}", soft_wrap=True)


def _str(value: int | None) -> str:
    return "" if value is None else str(value)


@ai_app.command("run")
def run(
    stage: Annotated[list[str] | None, typer.Option("--stage", help="A stage: 'PIPELINE[@MODEL] [id=NAME] [in.FIELD=STAGE] FIELD=VALUE ...'; repeat in order.")] = None,
    stages: Annotated[Path | None, typer.Option("--stages", help="A JSON file with the stages (a list, or {\"stages\": [...]}) instead of --stage.")] = None,
    upload: Annotated[list[str] | None, typer.Option("--upload", help="A file the stages read: image=FILE, audio=FILE or video=FILE.")] = None,
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
    out: Annotated[Path, typer.Option(help="Directory to write the results to.")] = Path("ai-job"),
    timeout: Annotated[float, typer.Option(min=1.0, help="Seconds to wait for the job.")] = 3600.0,
) -> None:
    """Run AI stages through a gateway, each output feeding the next; download the results."""
    try:
        plan = _load_stages(stage or [], stages)
        files = parse_uploads(upload or [])
    except StageSyntaxError as exc:
        fail(str(exc))
    try:
        status, paths = asyncio.run(run_job(gateway, plan, files, out, timeout))
    except GatewayRequestError as exc:
        fail(str(exc))
    except TimeoutError:
        fail(f"the job did not finish within {timeout:g} s; follow it with `framemesh ai status`")
    show_job(status)
    if status.state != "completed":
        fail(f"job {status.id} {status.state}: {status.error or 'unknown error'}")
    if status.text is not None:
        console.print(f"text: [bold]{status.text}[/]", soft_wrap=True)
    for path in paths:
        console.print(f"result: [bold]{path}[/]", soft_wrap=True)


def _load_stages(stage: list[str], stages: Path | None) -> list[dict[str, Any]]:
    if bool(stage) == (stages is not None):
        raise StageSyntaxError("give the stages as --stage (repeated) or as --stages FILE, one of the two")
    if stages is None:
        return [parse_stage(s) for s in stage]
    try:
        raw = json.loads(stages.read_text())
    except (OSError, ValueError) as exc:
        raise StageSyntaxError(f"--stages {stages}: {exc}") from None
    plan = raw.get("stages") if isinstance(raw, dict) else raw
    if not isinstance(plan, list):
        raise StageSyntaxError(f"--stages {stages}: expected a list of stages or {{\"stages\": [...]}}")
    return plan


@ai_app.command("status")
def status(
    job_id: Annotated[str, typer.Argument(help="The AI job's id.")],
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
    as_json: Annotated[bool, typer.Option("--json", help="Print the gateway's JSON.")] = False,
) -> None:
    """One AI job: its stages, who ran them, what they cost, their outputs."""
    job = ask(gateway, lambda client: client.ai_job(job_id))
    if as_json:
        console.print_json(job.model_dump_json())
        return
    show_job(job)
    for s in job.stages:
        for output in s.outputs:
            console.print(f"stage {s.index}: {gateway.rstrip('/')}{output.url}", soft_wrap=True)


@ai_app.command("cancel")
def cancel(
    job_id: Annotated[str, typer.Argument(help="The staged AI job's id.")],
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
) -> None:
    """Cancel a staged AI job: no further stage starts."""
    show_job(ask(gateway, lambda client: client.cancel_ai_job(job_id)))


@ai_app.command("jobs")
def jobs(gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936") -> None:
    """Every AI job the gateway ran: Livepeer API requests and staged jobs."""
    listed = ask(gateway, lambda client: client.ai_jobs())
    table = Table(title=f"{len(listed)} AI jobs", title_justify="left")
    for column in ("id", "kind", "state", "stages", "price (wei)", "error"):
        table.add_column(column)
    for job in listed:
        price = sum(s.price or 0 for s in job.stages)
        table.add_row(job.id, job.kind, job.state, " → ".join(s.pipeline for s in job.stages), str(price), job.error or "")
    console.print(table)
