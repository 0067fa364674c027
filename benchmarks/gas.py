"""Gas of the protocol contracts' hot paths, next to Livepeer's.

The measuring scenario is the one `tests/protocol/test_gas.py` holds to targets
(`tests/protocol/gas_scenario.py`): whole-transaction gas (execution + 21,000 +
calldata), each call measured as a fresh transaction (earlier writes committed, warm
slots and addresses forgotten), in a steady state, with 1, 10 and 100 orchestrators,
1,000 delegators, an active set of 100 and hints computed off-chain.

Livepeer's figures are those quoted in the issue: a plain EVM, an active set of 100.

Run:  python benchmarks/gas.py [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from report import update_section  # benchmarks/report.py

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root, for tests.protocol
from tests.protocol.conftest import load_deployers
from tests.protocol.gas_scenario import DELEGATORS, ORCHESTRATOR_COUNTS, measure

#: Livepeer's gas per call (low, high), plain EVM, active set of 100
LIVEPEER: dict[str, tuple[int, int]] = {
    "reward": (490_000, 1_050_000),
    "redeemWinningTicket": (153_000, 262_000),
    "bond": (434_000, 721_000),  # a delegator's bond
    "claimEarnings": (272_000, 272_000),
    "initializeRound": (207_000, 227_000),
}


def livepeer(name: str) -> tuple[int, int] | None:
    """Livepeer's figure for a measured call: "bond (new delegator, hints)" -> bond's."""
    return LIVEPEER.get(name.split(" (")[0])


def _k(gas: int) -> str:
    return f"{gas / 1000:,.0f}"


def table(results: dict[int, dict[str, int]]) -> list[str]:
    counts = list(results)
    top = counts[-1]
    head = "| call | " + " | ".join(f"{n} orch." for n in counts) + f" | Livepeer | ours ({top}) / Livepeer |"
    lines = [head, "| --- | " + "---: | " * len(counts) + "---: | ---: |"]
    for name in results[counts[0]]:
        ours = [results[n][name] for n in counts]
        theirs = livepeer(name)
        if theirs is None:
            lp, ratio = "—", "—"
        else:
            low, high = theirs
            lp = f"{_k(low)} k" if low == high else f"{_k(low)}–{_k(high)} k"
            r_low, r_high = ours[-1] / high, ours[-1] / low
            ratio = f"{r_low:.2f}" if low == high else f"{r_low:.2f}–{r_high:.2f}"
        lines.append(f"| `{name}` | " + " | ".join(f"{g:,}" for g in ours) + f" | {lp} | {ratio} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    started = time.monotonic()
    results = measure(load_deployers())
    elapsed = time.monotonic() - started
    intro = (
        f"Whole-transaction gas (execution + 21,000 + calldata), each call a fresh transaction "
        f"(writes committed, cold slots), steady state; {', '.join(map(str, ORCHESTRATOR_COUNTS))} orchestrators, "
        f"{DELEGATORS:,} delegators, an active set of 100, hints from the client; titanoboa (py-evm, Prague rules). "
        f"Scenario: `tests/protocol/gas_scenario.py` (the one `tests/protocol/test_gas.py` holds to "
        f"its targets: reward and redeemWinningTicket under 150,000, bond under 200,000). "
        f"Command: `python benchmarks/gas.py` ({elapsed:.0f} s). Livepeer: the figures quoted in the issue "
        f"(a plain EVM, an active set of 100); the ratio uses our figure at {ORCHESTRATOR_COUNTS[-1]} orchestrators."
    )
    note = (
        "With one orchestrator, the calls that change its stake cost about 2,200 less: it has no "
        "neighbours in the pool whose stake to check (one cold storage read). Ticket figures vary by "
        "a few dozen gas with the signature's bytes (calldata). `reward (after a missed round)` also "
        "stores the previous round's reward factor (one fresh storage slot)."
    )
    body = "\n".join([intro, "", *table(results), "", note])
    print(body)
    if not args.no_write:
        update_section("gas", "Contract gas", body)


if __name__ == "__main__":
    main()
