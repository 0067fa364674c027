"""The gateway under load: many clients at once against a gateway with two
orchestrators on the tiny models.

Every node is a real process (`framemesh orchestrator start --ai-config`, twice, and
`framemesh gateway start`), off-chain, on loopback. The work is `POST /text-to-image`
with the tiny Stable Diffusion model (`framemesh.ai.tiny`), a fresh seed per request
(so the gateway's result cache never answers). Three runs, in this order:

1. **throughput**: the orchestrators alone, called directly as a gateway would, each
   by two clients per slot of its model (each sends its next request when the last
   is answered, and retries a busy answer after 20 ms), so a request is always
   there when a slot frees: the most requests a second the two serve together, what
   the gateway can at best pass on. Then as long through the gateway, with 40
   clients (its line never empties). In turns, `--rounds` times: this machine's speed
   drifts by up to 2x within minutes, so each gateway window is compared with the
   capacity window just before it.
2. **load**: `--clients` clients (200) send one request each, all at once, to the
   gateway, which has far fewer slots than clients: the rest wait in its line.
   Every request must be answered 200 within the line's deadline (`--queue-seconds`,
   set so the whole burst fits); throughput is the burst's requests over the time
   from the first sent to the last answered, as a share of the capacity.
3. The gateway process's RSS and open file descriptors, sampled every 0.2 s from
   `/proc` before and during the burst, 2 s after it, and 2 s after a second burst
   (they must come back, not grow burst after burst); latency percentiles as the clients
   saw them, and the line's own account (`GET /queue`) of how long each waited.

Run:  python benchmarks/load.py [--clients 200] [--size 64] [--steps 2] [--no-write]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import subprocess
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.processes import start_node, stop_nodes  # noqa: E402
from benchmarks.report import update_section  # noqa: E402

SD = "framemesh/tiny-sd"
ADMIN = "load-benchmark-admin"
THROUGH_GATEWAY = 40  # clients in the gateway's windows: many more than the slots, so its line never empties
SEEDS = itertools.count(1)  # a fresh seed for every request: no cache, the orchestrators' or the gateway's, answers
SETTLE = 2.0  # seconds after a burst before the gateway's "after" figures are read
console = Console()


def models_toml(root: Path) -> Path:
    import torch

    from framemesh.ai.tiny import write_tiny_sd

    torch.manual_seed(0)
    write_tiny_sd(root / "tiny-sd")
    toml = root / "models.toml"
    toml.write_text(
        f'cache_dir = "cache"\n\n[[models]]\npipeline = "text-to-image"\nmodel_id = "{SD}"\npath = "tiny-sd"\n'
        "price_per_unit = 1\nwarm = true\n"
    )
    return toml


class Nodes:
    """Two AI orchestrators and a gateway, each its own `framemesh` process."""

    def __init__(self, root: Path, queue_seconds: float) -> None:
        self.root = root
        self.queue_seconds = queue_seconds
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.urls: dict[str, str] = {}

    def _start(self, name: str, *args: str, timeout: float = 60) -> str:
        self.procs[name], self.urls[name] = start_node(self.root, name, *args, timeout=timeout, env={"HF_HUB_OFFLINE": "1"})
        return self.urls[name]

    def __enter__(self) -> Nodes:
        toml = models_toml(self.root / "models")
        for name in ("o1", "o2"):
            self._start(name, "orchestrator", "start", "--name", name, "--data-dir", str(self.root / name),
                        "--ai-config", str(toml), timeout=600)
        self.gateway = self._start(
            "gateway", "gateway", "start", "--data-dir", str(self.root / "gateway"), "--admin-token", ADMIN,
            "--orchestrator", self.urls["o1"], "--orchestrator", self.urls["o2"],
            "--queue-seconds", str(self.queue_seconds), "--no-ai-result-cache",
        )
        return self

    @property
    def gateway_pid(self) -> int:
        return self.procs["gateway"].pid

    def __exit__(self, *exc: object) -> None:
        stop_nodes(self.procs.values())


def request_body(seed: int, size: int, steps: int) -> dict[str, Any]:
    return {"prompt": "a lighthouse at dusk", "model_id": SD, "width": size, "height": size, "seed": seed,
            "num_inference_steps": steps}


class Sampler(threading.Thread):
    """The gateway process's RSS (MiB) and open file descriptors, every 0.2 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float, int]] = []
        self.stopped = threading.Event()

    def sample(self) -> tuple[float, float, int]:
        rss = 0.0
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        return time.monotonic(), rss, len(os.listdir(f"/proc/{self.pid}/fd"))

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            try:
                self.samples.append(self.sample())
            except (FileNotFoundError, ProcessLookupError):
                return


@dataclass
class Figures:
    clients: int
    size: int
    steps: int
    queue_seconds: float
    capacities: list[float] = field(default_factory=list)  # req/s, the orchestrators alone, per round
    gateway_rps: list[float] = field(default_factory=list)  # req/s through the gateway, per round
    window: float = 0.0

    @property
    def capacity_rps(self) -> float:
        return sum(self.capacities) / len(self.capacities) if self.capacities else 0.0
    served: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    burst_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    queue: dict[str, Any] = field(default_factory=dict)
    before: tuple[float, int] = (0.0, 0)
    peak: tuple[float, int] = (0.0, 0)
    after: tuple[float, int] = (0.0, 0)
    after_second: tuple[float, int] = (0.0, 0)
    pool: list[dict[str, Any]] = field(default_factory=list)  # the gateway's view of its orchestrators after the burst

    @property
    def throughput(self) -> float:
        return self.served / self.burst_seconds if self.burst_seconds else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def slots_of(client: httpx.AsyncClient, url: str) -> int:
    info = (await client.get(f"{url}/info")).json()
    return sum(c["capacity"] for c in info["capabilities"]["ai"] if c["model_id"] == SD)


async def direct(client: httpx.AsyncClient, url: str, seed: int, size: int, steps: int) -> None:
    """One job straight to an orchestrator, as the gateway sends it (a form, no file)."""
    from framemesh.wire.ai import REQUEST_PART

    while True:
        response = await client.post(f"{url}/ai/text-to-image", params={"job_id": f"cap{seed}"},
                                     data={REQUEST_PART: json.dumps(request_body(seed, size, steps))})
        if response.status_code == 503:  # a slot not yet free again: as a gateway would, try again
            await asyncio.sleep(0.02)
            continue
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
        return


async def closed_loop(senders: list[Any], seconds: float) -> float:
    """Requests a second while each sender sends its next request as soon as its last is answered."""
    done = [0]
    stop_at = time.monotonic() + seconds

    async def loop(send: Any) -> None:
        while time.monotonic() < stop_at:
            await send(next(SEEDS))
            done[0] += 1

    start = time.monotonic()
    await asyncio.gather(*(loop(send) for send in senders))
    return done[0] / (time.monotonic() - start)


async def measure_throughput(nodes: Nodes, rounds: int, seconds: float, f: Figures) -> None:
    """The orchestrators alone, then through the gateway, in turns: the machine's speed
    drifts (two orchestrators' torch threads share its cores), so each gateway window
    is compared with the capacity window just before it."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        orchestrators = [nodes.urls["o1"], nodes.urls["o2"]]
        for url in orchestrators:  # warm each worker once, untimed
            await direct(client, url, 10**8, f.size, f.steps)
        key = (await client.post(f"{nodes.gateway}/admin/keys", json={"name": "throughput"}, headers=admin)).json()["key"]
        auth = {"Authorization": f"Bearer {key}"}

        def to_orchestrator(url: str) -> Any:
            return lambda seed: direct(client, url, seed, f.size, f.steps)

        async def to_gateway(seed: int) -> None:
            body = request_body(seed, f.size, f.steps)
            response = await client.post(f"{nodes.gateway}/text-to-image", json=body, headers=auth)
            if response.status_code != 200:
                raise RuntimeError(f"the gateway answered {response.status_code}: {response.text[:300]}")

        direct_senders = [to_orchestrator(url) for url in orchestrators for _ in range(2 * await slots_of(client, url))]
        for _ in range(rounds):
            f.capacities.append(await closed_loop(direct_senders, seconds))
            f.gateway_rps.append(await closed_loop([to_gateway] * THROUGH_GATEWAY, seconds))


async def burst(nodes: Nodes, f: Figures) -> None:
    gateway = nodes.gateway
    admin = {"Authorization": f"Bearer {ADMIN}"}
    limits = httpx.Limits(max_connections=f.clients + 10, max_keepalive_connections=f.clients + 10)
    async with httpx.AsyncClient(timeout=f.queue_seconds + 120, limits=limits) as client:
        deadline = time.monotonic() + 60
        while not any(o["model_id"] == SD and o["orchestrators"] for o in (await client.get(f"{gateway}/ai/models", headers=admin)).json()):
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway found no orchestrator serving the model")
            await asyncio.sleep(0.2)
        key = (await client.post(f"{gateway}/admin/keys", json={"name": "load"}, headers=admin)).json()["key"]
        auth = {"Authorization": f"Bearer {key}"}
        await client.post(f"{gateway}/text-to-image", json=request_body(10**7, f.size, f.steps), headers=auth)
        before_queue = (await client.get(f"{gateway}/queue", headers=admin)).json()

        async def one(seed: int, progress: Progress, task: Any) -> tuple[int, float]:
            sent = time.monotonic()
            response = await client.post(f"{gateway}/text-to-image", json=request_body(seed, f.size, f.steps), headers=auth)
            progress.advance(task)
            return response.status_code, time.monotonic() - sent

        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{f.clients} clients at once", total=f.clients)
            start = time.monotonic()
            results = await asyncio.gather(*(one(next(SEEDS), progress, task) for _ in range(f.clients)))
            f.burst_seconds = time.monotonic() - start
        after_queue = (await client.get(f"{gateway}/queue", headers=admin)).json()
        f.pool = (await client.get(f"{gateway}/orchestrators", headers=admin)).json()
    for status, seconds in results:
        f.statuses[str(status)] = f.statuses.get(str(status), 0) + 1
        if status == 200:
            f.latencies.append(seconds)
    f.served = len(f.latencies)
    f.queue = {
        "served": after_queue["served"] - before_queue["served"],
        "waited": after_queue["waited"] - before_queue["waited"],
        "wait_seconds_total": after_queue["wait_seconds_total"] - before_queue["wait_seconds_total"],
        "wait_seconds_max": after_queue["wait_seconds_max"],
        "timed_out": after_queue["timed_out"] - before_queue["timed_out"],
        "full": after_queue["full"] - before_queue["full"],
    }


def run(args: argparse.Namespace) -> Figures:
    f = Figures(clients=args.clients, size=args.size, steps=args.steps, queue_seconds=args.queue_seconds)
    root = args.keep or Path(tempfile.mkdtemp(prefix="framemesh-load-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        with console.status("starting two orchestrators (loading the model) and a gateway"), Nodes(root, args.queue_seconds) as nodes:
            pass_ = nodes  # the processes live for the with block
            f.window = args.window
            with console.status(f"throughput: {args.rounds} rounds of {args.window:g} s alone, then {args.window:g} s through the gateway"):
                asyncio.run(measure_throughput(pass_, args.rounds, args.window, f))
            sampler = Sampler(nodes.gateway_pid)
            _, rss, fds = sampler.sample()
            f.before = (rss, fds)
            sampler.start()
            asyncio.run(burst(nodes, f))
            time.sleep(SETTLE)  # the clients' sockets close on the gateway's side too
            sampler.stopped.set()
            sampler.join()
            _, rss, fds = sampler.sample()
            f.after = (rss, fds)
            f.peak = (max(s[1] for s in sampler.samples), max(s[2] for s in sampler.samples))
            # a second burst: memory and descriptors must come back, not grow burst after burst
            second = Figures(clients=args.clients, size=args.size, steps=args.steps, queue_seconds=args.queue_seconds)
            asyncio.run(burst(nodes, second))
            time.sleep(SETTLE)
            _, rss, fds = sampler.sample()
            f.after_second = (rss, fds)
            f.statuses = {k: f.statuses.get(k, 0) + second.statuses.get(k, 0) for k in {*f.statuses, *second.statuses}}
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return f


def report(f: Figures, args: argparse.Namespace) -> str:
    share = f.throughput / f.capacity_rps if f.capacity_rps else 0.0
    ratios = [g / c for g, c in zip(f.gateway_rps, f.capacities) if c]
    total_latency = sum(f.latencies)
    queue_share = f.queue["wait_seconds_total"] / total_latency if total_latency else 0.0
    table = Table(title="gateway under load", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("capacity: the orchestrators alone, per round", " / ".join(f"{c:.2f}" for c in f.capacities) + " req/s"),
        (f"through the gateway ({THROUGH_GATEWAY} clients), per round", " / ".join(f"{g:.2f}" for g in f.gateway_rps) + " req/s"),
        ("throughput through the gateway / capacity, per round (median)",
         " / ".join(f"{r:.0%}" for r in ratios) + f" ({statistics.median(ratios):.0%})" if ratios else "-"),
        (f"{f.clients} clients at once: answered 200", f"{f.served}/{f.clients}"),
        ("statuses (both bursts)", ", ".join(f"{k}: {v}" for k, v in sorted(f.statuses.items()))),
        ("burst time", f"{f.burst_seconds:.1f} s"),
        ("burst throughput", f"{f.throughput:.2f} req/s = {share:.0%} of the mean capacity"),
        ("latency p50 / p95 / p99", f"{f.pct(0.5):.2f} / {f.pct(0.95):.2f} / {f.pct(0.99):.2f} s"),
        ("time in the line, share of latency", f"{queue_share:.0%} (max wait {f.queue['wait_seconds_max']:.1f} s)"),
        ("gateway RSS before / peak / after / after a 2nd burst", f"{f.before[0]:.0f} / {f.peak[0]:.0f} / {f.after[0]:.0f} / {f.after_second[0]:.0f} MiB"),
        ("gateway open fds before / peak / after / after a 2nd burst", f"{f.before[1]} / {f.peak[1]} / {f.after[1]} / {f.after_second[1]}"),
    ]
    rows.append(("orchestrators after the burst (successes, failures, avoided for)",
                 "; ".join(f"{m['successes']}, {m['failures']}, {m['avoided_for']:g} s" for m in f.pool)))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    command = "python benchmarks/load.py" + (f" --clients {f.clients}" if f.clients != 200 else "")
    lines = [
        f"{f.clients} clients each send one `POST /text-to-image` at once (tiny SD, {f.size}x{f.size}, "
        f"{f.steps} steps, a fresh seed each) to a gateway with two orchestrators (one slot each), every node "
        f"its own process, off-chain; the line's deadline `--queue-seconds {f.queue_seconds:g}`. Capacity: the two "
        f"orchestrators called directly, two clients per slot, in windows of {f.window:g} s taking turns with windows of "
        f"{THROUGH_GATEWAY} clients through the gateway (the machine's speed drifts: each pair is compared). "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores. Command: `{command}`",
        "",
        "| figure | value |",
        "| --- | ---: |",
        *[f"| {a} | {b} |" for a, b in rows],
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--size", type=int, default=64, help="image width and height")
    parser.add_argument("--steps", type=int, default=2, help="inference steps per image")
    parser.add_argument("--rounds", type=int, default=3, help="capacity/gateway window pairs")
    parser.add_argument("--window", type=float, default=15.0, help="seconds per throughput window")
    parser.add_argument("--queue-seconds", type=float, default=120.0, help="the gateway's line deadline")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument("--keep", type=Path, default=None, help="run in this directory and keep it (the nodes' logs)")
    args = parser.parse_args()
    f = run(args)
    body = report(f, args)
    ok = f.served == f.clients
    if not args.no_write:
        update_section("load", "The gateway under load", body)
    console.print("every request served" if ok else f"[red]{f.clients - f.served} request(s) not served[/]")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
