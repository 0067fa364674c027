"""`framemesh protocol simulate`: run the economics model for many rounds with a
population of orchestrators and delegators, print where it started and ended, and
optionally draw inflation, bonding rate and supply into a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from framemesh.cli.output import console, fail
from framemesh.protocol.model import Params
from framemesh.protocol.simulate import RoundStats, SimConfig, Simulation

E18 = 10**18


def _pct(value: int, digits: int) -> str:
    """A rate over 1e9 as a percentage."""
    return f"{value / 1e7:.{digits}f}%"


def summary_table(first: RoundStats, last: RoundStats, target: int) -> Table:
    table = Table(title=f"simulated rounds {first.round}..{last.round}", title_justify="left")
    table.add_column("")
    table.add_column("start", justify="right")
    table.add_column("end", justify="right")
    table.add_row("inflation per round", _pct(first.inflation, 5), _pct(last.inflation, 5))
    table.add_row(f"bonding rate (target {_pct(target, 0)})", _pct(first.bonding_rate, 2), _pct(last.bonding_rate, 2))
    table.add_row("total supply (FMT)", f"{first.total_supply / E18:,.0f}", f"{last.total_supply / E18:,.0f}")
    table.add_row("total bonded (FMT)", f"{first.total_bonded / E18:,.0f}", f"{last.total_bonded / E18:,.0f}")
    table.add_row("active orchestrators", str(first.active), str(last.active))
    return table


def simulate(
    rounds: Annotated[int, typer.Option(min=1, help="Rounds to simulate.")] = 2000,
    plot: Annotated[Path | None, typer.Option(help="Draw inflation, bonding rate and supply into this PNG.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the simulation's randomness (same seed, same result).")] = 0,
    orchestrators: Annotated[int, typer.Option(min=1, help="Orchestrators in the population.")] = 20,
    delegators: Annotated[int, typer.Option(min=0, help="Delegators in the population.")] = 500,
    initial_bonding_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of the supply bonded at the start (0.3 is 30%).")] = 0.3,
    supply: Annotated[int, typer.Option(min=1, help="Starting token supply, in whole FMT.")] = 10_000_000,
    inflation: Annotated[int, typer.Option(min=0, max=10**9, help="Starting inflation per round, over 1e9.")] = 137_000,
    inflation_change: Annotated[int, typer.Option(min=0, max=10**9, help="Inflation step per round, over 1e9.")] = 500,
    target_bonding_rate: Annotated[int, typer.Option(min=0, max=10**9, help="Target bonding rate, over 1e9.")] = 500_000_000,
    num_active: Annotated[int, typer.Option(min=1, max=1000, help="Size of the active set.")] = 100,
    unbonding_period: Annotated[int, typer.Option(min=1, help="Rounds before unbonded stake can be withdrawn.")] = 7,
    activity: Annotated[float, typer.Option(min=0.0, max=1.0, help="Chance that a delegator acts in a round.")] = 0.02,
) -> None:
    """Simulate the network's economics (the contracts' rules, no chain) for many rounds."""
    try:
        params = Params(inflation, inflation_change, target_bonding_rate, unbonding_period, num_active)
        config = SimConfig(
            rounds=rounds, seed=seed, orchestrators=orchestrators, delegators=delegators,
            initial_bonding_rate=initial_bonding_rate, supply=supply * E18, params=params, activity=activity,
        )  # fmt: skip
    except ValueError as e:
        fail(str(e), 2)
    sim = Simulation(config)
    with Progress(
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("round {task.fields[round]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("rounds", total=rounds, round=0)

        def show(row: RoundStats) -> None:
            if row.round % 50 == 0 or row.round == rounds + 1:
                bar.update(task, completed=len(sim.stats), round=row.round)

        stats = sim.run(show)
        bar.update(task, completed=len(stats), round=stats[-1].round)
    console.print(summary_table(stats[0], stats[-1], target_bonding_rate))
    if plot is not None:
        from framemesh.protocol.plot import plot_series

        try:
            path = plot_series(stats, plot, target_bonding_rate)
        except OSError as e:
            fail(f"--plot: can't write {plot}: {e.strerror or e}")
        console.print(f"plot written to {path}")
