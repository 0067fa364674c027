"""`framemesh scores`: the orchestrators' performance scores, as a gateway measures them.

    framemesh scores --gateway http://127.0.0.1:8936
    framemesh scores --gateway URL --history http://127.0.0.1:8935 --since 3600
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from framemesh.cli.gateway_call import ask
from framemesh.cli.output import console
from framemesh.wire.gateway import ScoreHistoryOut, ScoresOut


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def scores_table(got: ScoresOut) -> Table:
    table = Table(title=f"performance scores over the last {got.window_seconds:g} s", title_justify="left")
    for column in ("orchestrator", "work", "score", "success", "latency score", "round trip p50", "results"):
        table.add_column(column, justify="left" if column in ("orchestrator", "work") else "right")
    for row in sorted(got.orchestrators, key=lambda r: (r.kind, r.pipeline or "", r.model or "", -r.score)):
        work = row.kind if row.kind == "transcode" else f"{row.pipeline} {row.model}"
        table.add_row(row.url + (f"\n{row.address}" if row.address else ""), work, f"{row.score:.3f}",
                      f"{row.success_rate:.0%}", f"{row.latency_score:.3f}", _seconds(row.round_trip_p50), str(row.samples))
    return table


def history_table(got: ScoreHistoryOut) -> Table:
    table = Table(title="score history", title_justify="left")
    for column in ("at", "orchestrator", "work", "score", "success", "latency score"):
        table.add_column(column)
    for p in got.points:
        work = p.kind if p.kind == "transcode" else f"{p.pipeline} {p.model}"
        table.add_row(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(p.at)), p.url, work, f"{p.score:.3f}",
                      f"{p.success_rate:.0%}", f"{p.latency_score:.3f}")
    return table


def scores(
    gateway: Annotated[str, typer.Option(help="The gateway's URL.")] = "http://127.0.0.1:8936",
    history: Annotated[str | None, typer.Option(help="Show this orchestrator's (URL or address) score history instead.")] = None,
    since: Annotated[float, typer.Option(min=0, help="With --history: the last this many seconds.")] = 86400.0,
) -> None:
    """Show the orchestrators' performance scores (Livepeer's formulas, from the gateway's own results)."""
    if history is not None:
        points = ask(gateway, lambda gw: gw.score_history(history, since=time.time() - since))
        console.print(history_table(points) if points.points else f"no score history for {history} in the last {since:g} s")
        return
    got = ask(gateway, lambda gw: gw.scores())
    if not got.orchestrators:
        console.print(f"no scores yet: no work done in the last {got.window_seconds:g} s")
        return
    console.print(scores_table(got))
    for label, scale in sorted(got.ai.items()):
        console.print(f"{label}: median round trip {scale.median_round_trip:.2f} s, k = {scale.k:.4f}/s "
                      "(the median scores 0.8 on latency)")
