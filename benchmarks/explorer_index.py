"""The explorer index at a network's scale: how long a reader's first query (which
replays the whole file) and the later ones take.

A synthetic history written straight into an index file (no chain: a chain of this
size takes hours to make): N orchestrators registered in round 1, each calling
reward every round for R rounds, M delegators bonded, a quarter of the orchestrators
redeeming a ticket each round. Livepeer's scale is about 100 orchestrators, and a
few thousand rounds over its life.

Run:  python benchmarks/explorer_index.py [--orchestrators 100] [--rounds 1000] [--delegators 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

from framemesh.explorer.index import ChainHistory
from framemesh.explorer.index.clock import RoundClock
from framemesh.explorer.index.store import Batch, BlockRow, Identity, IndexStore, NewEvent, RoundSnapshot

TOKEN = 10**18
ROUND_LENGTH = 100
ZERO = "0x" + "00" * 20
GATEWAY = "0x" + "99" * 20


def history(n: int, rounds: int, m: int) -> tuple[list[NewEvent], list[RoundSnapshot], list[str], list[str]]:
    orchestrators = [f"0x{i + 1:040x}" for i in range(n)]
    delegators = [f"0x{0x10000 + i:040x}" for i in range(m)]
    events: list[NewEvent] = []
    snapshots: list[RoundSnapshot] = []

    def add(block: int, name: str, round_: int, **fields: Any) -> None:
        events.append(NewEvent(block, len(events), f"0x{len(events):064x}", orchestrators[0], "X", name, round_, fields))

    for r in range(1, rounds + 1):
        b = r * ROUND_LENGTH
        add(b, "SetCurrentRoundTotalActiveStake", r, round=r, totalActiveStake=n * 1000 * TOKEN, activeSetSize=n)
        add(b, "SetCurrentRewardTokens", r, currentMintableTokens=1000 * TOKEN, currentInflation=137_000)
        add(b, "NewRound", r, round=r, blockHash="0x" + "ab" * 32)
        snapshots.append(RoundSnapshot(r, b, ROUND_LENGTH, b, f"0x{r:064x}", orchestrators[0], None, 10**7 * TOKEN, n * 1000 * TOKEN))
        if r == 1:
            for o in orchestrators:
                add(b + 1, "Bond", r, newDelegate=o, oldDelegate=ZERO, delegator=o, additionalAmount=1000 * TOKEN, bondedAmount=1000 * TOKEN)
                add(b + 1, "TranscoderActivated", r, transcoder=o, activationRound=2)
                add(b + 1, "TranscoderUpdate", r, transcoder=o, rewardCut=100_000, feeShare=500_000)
            for i, d in enumerate(delegators):
                add(b + 2, "Bond", r, newDelegate=orchestrators[i % n], oldDelegate=ZERO, delegator=d, additionalAmount=10 * TOKEN, bondedAmount=10 * TOKEN)
            add(b + 2, "DepositFunded", r, sender=GATEWAY, amount=10**6 * TOKEN)
            continue
        for o in orchestrators:
            add(b + 3, "Minted", r, amount=1000 * TOKEN // n)
            add(b + 3, "Reward", r, transcoder=o, amount=1000 * TOKEN // n)
        aux = "0x" + r.to_bytes(32, "big").hex() + "ab" * 32
        for o in orchestrators[: max(1, n // 4)]:
            add(b + 4, "WinningTicketRedeemed", r, sender=GATEWAY, recipient=o, faceValue=TOKEN // 10, winProb=1, senderNonce=r, recipientRand=1, auxData=aux)
            add(b + 4, "FeesCredited", r, transcoder=o, fees=TOKEN // 10, round=r)
    return events, snapshots, orchestrators, delegators


def timed(what: str, fn: Callable[[], Any]) -> None:
    start = time.perf_counter()
    fn()
    print(f"  {what:<40} {time.perf_counter() - start:8.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orchestrators", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--delegators", type=int, default=1000)
    args = parser.parse_args()
    events, snapshots, orchestrators, delegators = history(args.orchestrators, args.rounds, args.delegators)
    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, "explorer.sqlite")
        store = IndexStore.create(path, Identity(1, {"X": "0x" + "11" * 20}, 0))
        end = (args.rounds + 1) * ROUND_LENGTH
        print(f"{len(events):,} events, {args.orchestrators} orchestrators, {args.rounds} rounds, {args.delegators} delegators")
        timed("write (one batch)", lambda: store.write_batch(
            Batch(0, end, BlockRow(end, "0x" + "cd" * 32, 0), events, snapshots, [], RoundClock(ROUND_LENGTH, 1, ROUND_LENGTH))))
        store.close()
        print(f"  {'file size':<40} {os.path.getsize(path) / 1e6:8.1f} MB")
        h = ChainHistory(path)
        timed("first query (replays the file)", h.status)
        timed("status()", h.status)
        timed("rounds(50)", lambda: h.rounds(50))
        timed("series()", h.series)
        timed("orchestrators()", h.orchestrators)
        timed("orchestrator(a)", lambda: h.orchestrator(orchestrators[0]))
        timed("delegator(d): earnings per round", lambda: h.delegator(delegators[0]))
        timed("gateway(g)", lambda: h.gateway(GATEWAY))
        timed("events(50)", lambda: h.events(50))
        h.close()


if __name__ == "__main__":
    main()
