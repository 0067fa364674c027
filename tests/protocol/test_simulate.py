"""The simulator, its picture and the `protocol simulate` command."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from framemesh.cli.protocol_sim import simulate as simulate_command
from framemesh.protocol.model import Params
from framemesh.protocol.plot import plot_series
from framemesh.protocol.simulate import RoundStats, SimConfig, Simulation, simulate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def series() -> list[RoundStats]:
    return simulate(SimConfig(rounds=1500, delegators=300, seed=7))


def test_same_seed_same_series_other_seed_other_series() -> None:
    config = SimConfig(rounds=60, delegators=50, seed=3)
    assert simulate(config) == simulate(config)
    assert simulate(config) != simulate(SimConfig(rounds=60, delegators=50, seed=4))


def test_one_row_per_round(series: list[RoundStats]) -> None:
    assert [s.round for s in series] == list(range(2, 1502))
    assert all(s.rewards <= s.total_supply * s.inflation // 10**9 for s in series)
    assert all(b.total_supply - a.total_supply == b.rewards for a, b in itertools.pairwise(series))  # nothing slashed


def test_inflation_moves_one_step_per_round_toward_target(series: list[RoundStats]) -> None:
    change, target = 500, 500_000_000
    for before, after in itertools.pairwise(series):
        # the round's step is decided by the bonding rate as the previous round ended
        if before.bonding_rate < target:
            assert after.inflation == before.inflation + change
        elif before.bonding_rate > target:
            assert after.inflation == max(before.inflation - change, 0)
        else:
            assert after.inflation == before.inflation


def test_inflation_stops_at_zero() -> None:
    # a target of 0: every bonding rate is above it, the inflation falls and stays at 0
    params = Params(inflation=2_200, inflation_change=500, target_bonding_rate=0)
    stats = simulate(SimConfig(rounds=12, delegators=20, params=params))
    assert [s.inflation for s in stats[:6]] == [1_700, 1_200, 700, 200, 0, 0]
    assert all(s.inflation == 0 and s.rewards == 0 for s in stats[4:])


def test_bonding_rate_converges_toward_target_when_delegators_react(series: list[RoundStats]) -> None:
    assert series[0].bonding_rate < 350_000_000  # starts at 30%
    late = [s.bonding_rate for s in series[-500:]]
    assert 450_000_000 < sum(late) / len(late) < 550_000_000
    # and the inflation turns around as the rate crosses the target, both ways
    steps = [b.inflation - a.inflation for a, b in itertools.pairwise(series)]
    assert any(x > 0 for x in steps) and any(x < 0 for x in steps)
    assert series[-1].total_supply > series[0].total_supply


def test_falls_toward_target_from_above() -> None:
    stats = simulate(SimConfig(rounds=800, delegators=200, initial_bonding_rate=0.8, seed=1))
    assert stats[0].bonding_rate > 700_000_000
    assert stats[-1].bonding_rate < 600_000_000
    assert min(s.inflation for s in stats) < stats[0].inflation


def test_no_delegators_and_a_small_active_set() -> None:
    sim = Simulation(SimConfig(rounds=5, delegators=0, orchestrators=6, params=Params(num_active=4)))
    stats = sim.run()
    assert all(s.active == 4 for s in stats)
    assert len(sim.model.pool) == 4


def test_bad_config_is_refused_with_the_key_named() -> None:
    with pytest.raises(ValueError, match="initial_bonding_rate"):
        SimConfig(initial_bonding_rate=1.5)
    with pytest.raises(ValueError, match="orchestrators"):
        SimConfig(orchestrators=0)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_a_png(series: list[RoundStats], tmp_path: Path) -> None:
    out = plot_series(series, tmp_path / "sub" / "economics.png", 500_000_000)
    assert out.exists() and out.stat().st_size > 20_000
    width, height = png_size(out)
    assert width >= 800 and height >= 600


def test_plot_refuses_an_empty_series(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        plot_series([], tmp_path / "x.png", 500_000_000)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("simulate")(simulate_command)
    app.command("other")(lambda: None)  # two commands: typer keeps the name
    return app


def test_command_prints_summary_and_writes_plot(tmp_path: Path) -> None:
    out = tmp_path / "sim.png"
    result = CliRunner().invoke(_app(), ["simulate", "--rounds", "120", "--delegators", "40", "--seed", "2", "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert "bonding rate" in result.output and "inflation per round" in result.output and "total supply" in result.output
    assert "plot written" in result.output
    png_size(out)


def test_command_refuses_bad_input_with_exit_code() -> None:
    result = CliRunner().invoke(_app(), ["simulate", "--initial-bonding-rate", "1.5"])
    assert result.exit_code == 2
    result = CliRunner().invoke(_app(), ["simulate", "--rounds", "3", "--delegators", "0", "--orchestrators", "1", "--num-active", "1"])
    assert result.exit_code == 0, result.output
