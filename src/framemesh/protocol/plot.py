"""A picture of a simulated series: inflation, bonding rate (against its target) and
supply over rounds, drawn with matplotlib's Agg backend into a PNG file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from framemesh.protocol.simulate import RoundStats

E18 = 10**18


def plot_series(stats: Sequence[RoundStats], path: Path, target_bonding_rate: int, title: str = "framemesh economics") -> Path:
    """Draw `stats` into the PNG at `path`; `target_bonding_rate` is over 1e9."""
    if not stats:
        raise ValueError("nothing to plot: the series is empty")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import PercentFormatter

    rounds = [s.round for s in stats]
    fig, (ax_inf, ax_rate, ax_sup) = plt.subplots(3, 1, sharex=True, figsize=(10, 9), constrained_layout=True)
    fig.suptitle(f"{title}: {len(stats)} rounds")

    ax_inf.plot(rounds, [s.inflation / 1e7 for s in stats], color="tab:red", label="inflation per round")
    ax_inf.set_ylabel("inflation (% per round)")
    ax_inf.set_ylim(bottom=0)
    ax_inf.yaxis.set_major_formatter(PercentFormatter(decimals=4))
    ax_inf.legend(loc="upper right")
    ax_inf.grid(alpha=0.3)

    ax_rate.plot(rounds, [s.bonding_rate / 1e7 for s in stats], color="tab:blue", label="bonding rate (bonded / supply)")
    ax_rate.axhline(target_bonding_rate / 1e7, color="black", linestyle="--", linewidth=1, label=f"target ({target_bonding_rate / 1e7:g}%)")
    ax_rate.set_ylabel("bonding rate (%)")
    ax_rate.set_ylim(0, 100)
    ax_rate.yaxis.set_major_formatter(PercentFormatter())
    ax_rate.legend(loc="lower right")
    ax_rate.grid(alpha=0.3)

    ax_sup.plot(rounds, [s.total_supply / E18 / 1e6 for s in stats], color="tab:green", label="total supply")
    ax_sup.plot(rounds, [s.total_bonded / E18 / 1e6 for s in stats], color="tab:olive", linestyle="-.", label="total bonded")
    ax_sup.set_ylabel("tokens (millions)")
    ax_sup.set_xlabel("round")
    ax_sup.set_ylim(bottom=0)
    ax_sup.legend(loc="center right")
    ax_sup.grid(alpha=0.3)

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
