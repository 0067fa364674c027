"""Performance scores that matter: who gets the work when one orchestrator is slow and
one fails a share of its jobs, with the gateway's selection weighing the scores, and
without.

Every node is a real process on loopback, off-chain (no stake: every orchestrator
weighs the same but for its score): three orchestrators serving transcoding and the
tiny Stable Diffusion model (`framemesh.ai.tiny`), one plain, one slowed
(`--slow-seconds`: a wait before each job), one flaky (`--fail-share`: that share of
its jobs answered 500). Two gateways in front of the same three, both running all
along:

- **scores on**: `framemesh gateway start` as shipped (selection weighs each
  orchestrator's score for the kind of work);
- **scores off**: the same with `--no-score-weights` (stake, price and free slots
  only: every orchestrator free at the moment is as likely to be drawn).

After a warm-up (through a third gateway, not counted), work goes to one gateway at a
time for `--seconds` / 2, in the order on, off, off, on (the machine's speed drifts;
a drift in a straight line cancels): one client sends one-segment transcode jobs (2 s
of 240p) one after another, and one sends text-to-image requests one after another,
so most of the time every orchestrator is free and selection decides. The share of
each kind of work each orchestrator was sent (its results in each gateway's
`GET /scores`, failed ones included) is compared between the gateways, and the
scores-on gateway's history (`GET /scores/history`, a point every 5 s) is plotted with
the shares into benchmarks/scores.png.

Run:  python benchmarks/scores.py [--seconds 90] [--slow-seconds 3] [--fail-share 0.3] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import SD, models_toml, request_body  # noqa: E402
from benchmarks.processes import start_node, stop_nodes  # noqa: E402
from benchmarks.report import update_section  # noqa: E402

NAMES = ("plain", "slow", "flaky")
KINDS = ("transcode", "ai")
TRANSCODE_CLIENTS, AI_CLIENTS = 1, 1  # one each: most of the time every orchestrator is free, and the draw decides
WARM_UP = 15.0  # seconds of work before the phases, through a gateway of its own
SEEDS = itertools.count(1)  # a fresh seed per AI request: the result cache never answers
console = Console()


@dataclass
class Phase:
    name: str
    attempts: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> orchestrator -> results
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    round_trips: dict[str, dict[str, float | None]] = field(default_factory=dict)
    chunks: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of its traffic, Unix seconds
    history: list[dict[str, Any]] = field(default_factory=list)
    started: float = 0.0
    jobs: int = 0
    ai_requests: int = 0
    ai_answered: int = 0

    def share(self, kind: str, name: str) -> float:
        total = sum(self.attempts.get(kind, {}).values())
        return self.attempts.get(kind, {}).get(name, 0) / total if total else 0.0


async def transcode_client(gateway: str, clip: Path, until: float, phase: Phase) -> None:
    from framemesh.sdk.client import GatewayClient

    async with GatewayClient(gateway) as client:
        while time.monotonic() < until:
            accepted = await client.submit(clip, "240p")
            await client.wait(accepted.id, timeout=300)
            phase.jobs += 1


async def ai_client(gateway: str, until: float, phase: Phase) -> None:
    async with httpx.AsyncClient(timeout=300) as client:
        while time.monotonic() < until:
            response = await client.post(f"{gateway}/text-to-image", json=request_body(next(SEEDS), 64, 2))
            phase.ai_requests += 1
            if response.status_code == 200:
                phase.ai_answered += 1
            else:
                await asyncio.sleep(0.2)  # every try failed or was busy: the gateway said so; go on


async def traffic(gateway: str, clip: Path, seconds: float, phase: Phase) -> None:
    until = time.monotonic() + seconds
    await asyncio.gather(*(transcode_client(gateway, clip, until, phase) for _ in range(TRANSCODE_CLIENTS)),
                         *(ai_client(gateway, until, phase) for _ in range(AI_CLIENTS)))


def read_scores(gateway: str, phase: Phase, names: dict[str, str], since: float) -> None:
    """The gateway's account of all the work it sent (its window spans the whole run)."""
    body = httpx.get(f"{gateway}/scores", timeout=30).json()
    for row in body["orchestrators"]:
        kind, name = row["kind"], names[row["url"]]
        phase.attempts.setdefault(kind, {})[name] = row["samples"]
        phase.scores.setdefault(kind, {})[name] = row["score"]
        phase.round_trips.setdefault(kind, {})[name] = row["round_trip_p50"]
    time.sleep(6)  # its last history point
    phase.history = httpx.get(f"{gateway}/scores/history", params={"since": since}, timeout=30).json()["points"]
    for point in phase.history:
        point["name"] = names[point["url"]]


def start_gateway(root: Path, name: str, urls: list[str], *extra: str) -> tuple[Any, str]:
    args = ["gateway", "start", "--data-dir", str(root / name), "--open", "--no-ai-result-cache", "--score-interval", "5",
            "--queue-seconds", "120", *extra]
    for url in urls:
        args += ["--orchestrator", url]
    proc, url = start_node(root, name, *args, env={"HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/readyz").status_code != 200 or not _ai_known(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} found no orchestrator serving {SD}")
        time.sleep(0.5)
    return proc, url


def _ai_known(gateway: str) -> bool:
    return sum(m["known"] for m in httpx.get(f"{gateway}/orchestrators").json()) == len(NAMES)


def plot(on: Phase, off: Phase, path: Path, slow: float, fail: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"plain": "tab:green", "slow": "tab:orange", "flaky": "tab:red"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for kind, ax in zip(KINDS, axes[:2]):
        for name in NAMES:
            pts = [p for p in on.history if p["kind"] == kind and p.get("name") == name]
            ax.plot([p["at"] - on.started for p in pts], [p["score"] for p in pts], "o-", color=colours[name], label=name, ms=3)
        for i, (start, end) in enumerate(on.chunks):
            ax.axvspan(start, end, color="tab:blue", alpha=0.08, label="its traffic" if i == 0 else None)
        ax.set_title(f"{kind} score, scores-on gateway")
        ax.set_xlabel("seconds into the run")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
        ax.legend()
    ax = axes[2]
    width = 0.2
    for i, name in enumerate(NAMES):
        for j, (kind, phase, hatch) in enumerate(((k, p, h) for k in KINDS for p, h in ((on, ""), (off, "//")))):
            ax.bar(j + (i - 1) * width, 100 * phase.share(kind, name), width, color=colours[name], hatch=hatch,
                   label=name if j == 0 else None, edgecolor="black", linewidth=0.5)
    ax.set_xticks(range(4), ["transcode\nscores on", "transcode\nscores off", "AI\nscores on", "AI\nscores off"])
    ax.set_ylabel("share of the work sent (%)")
    ax.set_title(f"who got the work (slow: +{slow:g} s a job, flaky: {fail:.0%} fail)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(on: Phase, off: Phase, args: argparse.Namespace) -> str:
    lines = [
        f"Three orchestrators, off-chain, on loopback ({platform.machine()}, {_cores()} cores, shared): "
        f"*plain*; *slow*, `--slow-seconds {args.slow_seconds:g}` (it waits that long before each job); *flaky*, "
        f"`--fail-share {args.fail_share:g}` (that share of its jobs answered 500). Two gateways in front of them: "
        "**scores on** (as shipped) and **scores off** (`--no-score-weights`: stake, price and free slots only). "
        f"Each gets {args.seconds:g} s of work, in turns (on, off, off, on, after a warm-up): one client sending "
        "one-segment transcode jobs (2 s, 240p) one after another, one sending text-to-image requests (tiny SD, "
        "64x64, 2 steps) one after another. Share: of the pieces of work of that kind the gateway sent (failed ones "
        "included), from its `GET /scores`; score and round trip p50: the scores-on gateway's, at the end.",
        "",
        "| orchestrator | transcode share, scores on | scores off | on / off | transcode score (round trip) | "
        "AI share, scores on | scores off | on / off | AI score (round trip) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in NAMES:
        cells = []
        for kind in KINDS:
            a, b = on.share(kind, name), off.share(kind, name)
            ratio = f"{a / b:.2f}" if b else "-"
            score = on.scores.get(kind, {}).get(name)
            cells += [f"{100 * a:.0f}% ({on.attempts.get(kind, {}).get(name, 0)})",
                      f"{100 * b:.0f}% ({off.attempts.get(kind, {}).get(name, 0)})", ratio,
                      "-" if score is None else f"{score:.2f} ({_seconds(on.round_trips.get(kind, {}).get(name))})"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Work done: scores on, {on.jobs} transcode jobs and {on.ai_answered} of {on.ai_requests} AI requests answered; "
        f"scores off, {off.jobs} and {off.ai_answered} of {off.ai_requests}. (In brackets: the pieces of work sent to "
        "it.) The scores are Livepeer's formulas over the gateway's results (transcode: success rate x "
        "(1 - e^(-segment duration / round trip)); AI: 0.65 x success rate + 0.35 x e^(-k x round trip), the median "
        "round trip scoring 0.8; docs/scores.md). Even with the scores off, "
        "a slowed node holds its slot longer and a failing one is avoided for a while after each failure, so each "
        "is free less often: the gap between the phases is what the weights add.",
        "",
        "![score history and shares](benchmarks/scores.png)",
        "",
        f"Reproduce: `python benchmarks/scores.py --seconds {args.seconds:g} --slow-seconds {args.slow_seconds:g} "
        f"--fail-share {args.fail_share:g}`",
    ]
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=90.0, help="seconds of work through each gateway")
    parser.add_argument("--slow-seconds", type=float, default=3.0)
    parser.add_argument("--fail-share", type=float, default=0.3)
    parser.add_argument("--no-write", action="store_true", help="print, do not write BENCHMARKS.md and the plot")
    args = parser.parse_args()
    from framemesh.media.testclip import make_test_clip

    with tempfile.TemporaryDirectory(prefix="scores-bench-") as tmp:
        root = Path(tmp)
        clip = make_test_clip(root / "clip.mp4", duration=2.0, width=426, height=240, fps=24, audio=False)
        toml = models_toml(root / "models")
        procs: list[Any] = []
        urls: dict[str, str] = {}
        try:
            faults = {"plain": (), "slow": ("--slow-seconds", str(args.slow_seconds)),
                      "flaky": ("--fail-share", str(args.fail_share))}
            for name in NAMES:
                proc, url = start_node(root, name, "orchestrator", "start", "--name", name, "--capacity", "1",
                                       "--data-dir", str(root / name), "--ai-config", str(toml), *faults[name],
                                       timeout=600, env={"HF_HUB_OFFLINE": "1"})
                procs.append(proc)
                urls[url] = name
            begun = time.time()
            # Warm-up through a gateway of its own (first jobs load models and spawn workers): not counted.
            warm_proc, warm = start_gateway(root, "warm-up", list(urls), "--no-score-weights")
            try:
                asyncio.run(traffic(warm, clip, WARM_UP, Phase("warm-up")))
            finally:
                stop_nodes([warm_proc])
            on, off = Phase("scores on"), Phase("scores off")
            gateways = {}
            for phase, extra in ((on, ()), (off, ("--no-score-weights",))):
                proc, url = start_gateway(root, phase.name.replace(" ", "-"), list(urls), *extra)
                procs.append(proc)
                gateways[phase.name] = url
            # A B B A: the machine's speed drifts, and drift in a straight line cancels.
            for phase in (on, off, off, on):
                console.print(f"[bold]{phase.name}[/]: {args.seconds / 2:g} s of work")
                started = time.time()
                asyncio.run(traffic(gateways[phase.name], clip, args.seconds / 2, phase))
                phase.chunks.append((started - begun, time.time() - begun))
            for phase in (on, off):
                read_scores(gateways[phase.name], phase, urls, begun)
                phase.started = begun
        finally:
            stop_nodes(procs)
    table = Table(title="share of the work sent")
    for column in ("orchestrator", *(f"{k} {p}" for k in KINDS for p in ("on", "off")), "transcode score", "AI score"):
        table.add_column(column)
    for name in NAMES:
        table.add_row(name, *(f"{100 * ph.share(k, name):.0f}%" for k in KINDS for ph in (on, off)),
                      f"{on.scores.get('transcode', {}).get(name, 0):.2f}", f"{on.scores.get('ai', {}).get(name, 0):.2f}")
    console.print(table)
    body = report(on, off, args)
    if args.no_write:
        console.print(body)
        return
    plot(on, off, ROOT / "benchmarks" / "scores.png", args.slow_seconds, args.fail_share)
    update_section("scores", "Performance scores", body)
    console.print("wrote BENCHMARKS.md (scores) and benchmarks/scores.png")


if __name__ == "__main__":
    main()
