"""What the network adds to an AI job (part 2 of `benchmarks/ai.py`).

The tiny Stable Diffusion model (`framemesh.ai.tiny`) at 512x512 (a ~0.6 MB PNG,
like a real one). Served by:

- a devnet: embedded chain, two staked orchestrators, a gateway paying in tickets,
  C2PA on every output checked against the dev CA, HTTP on loopback, in this process
  (threads) with each model in its own worker process;
- an off-chain orchestrator and a gateway in front of it (no tickets), to split a
  cache hit's time: paid vs unpaid, through a gateway vs straight to the orchestrator;
- a `ModelHost` and the `TextToImage` pipeline called directly in this process.

The tiny model's steps are chosen so that the pipeline alone takes about a second.
Before each timed call the devnet's in-process chain is left to redeem the winning
tickets of the last job (untimed: on a real network the chain is elsewhere).
Measured: a repeated identical request (same seed) end to end, client → gateway →
orchestrator → exact-result cache; and jobs with fresh seeds (no cache), the direct
calls and the gateway taking turns, for the overhead. Then the parts of a cache hit
timed alone on the same output: the host's cache lookup, signing and bundling
(`package_result`, in this process and through a forkserver pool as the orchestrator
runs it), and the gateway's unpacking and provenance check.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from rich.progress import Progress

from framemesh.ai import ModelHost, load_config
from framemesh.ai.requests import TextToImageRequest

SD = "framemesh/tiny-sd"
SIZE = 512
TARGET = 1.0  # seconds: the job's steps are chosen so the pipeline alone takes about this
HIT_SEED = 7
MODELS_TOML = f"""\
cache_dir = "cache"

[[models]]
pipeline = "text-to-image"
model_id = "{SD}"
path = "tiny-sd"
price_per_unit = 1
"""


@dataclass
class NetworkFigures:
    threads: int = 0
    steps: int = 1
    png_bytes: int = 0
    # fresh seeds (no cache): seconds per job
    pipeline: list[float] = field(default_factory=list)
    host: list[float] = field(default_factory=list)
    gateway: list[float] = field(default_factory=list)
    # the same request again (a cache hit): seconds
    hit_gateway: list[float] = field(default_factory=list)
    hit_gateway_unpaid: list[float] = field(default_factory=list)
    hit_orchestrator: list[float] = field(default_factory=list)
    hit_host: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)  # parts of a hit timed alone
    spans: dict[str, list[float]] = field(default_factory=dict)  # inside the devnet's nodes, during the hits
    spans_fresh: dict[str, list[float]] = field(default_factory=dict)  # the same, during the fresh jobs
    loads: list[float] = field(default_factory=list)


def job(seed: int, steps: int) -> TextToImageRequest:
    return TextToImageRequest(
        prompt="a lighthouse at dusk", model_id=SD, width=SIZE, height=SIZE, seed=seed, num_inference_steps=steps
    )


def body(request: TextToImageRequest) -> dict[str, Any]:
    from framemesh.gateway.ai.directory import request_parts

    return request_parts(request)[0]


def write_models(root: Path) -> Path:
    import torch

    from framemesh.ai.tiny import write_tiny_sd

    torch.manual_seed(0)
    write_tiny_sd(root / "tiny-sd")
    toml = root / "models.toml"
    toml.write_text(MODELS_TOML)
    return toml


def measure_network(runs: int, loads: list[float], threads: int = 0) -> NetworkFigures:
    """`threads` > 0: torch threads in this process and in every worker process it starts."""
    import torch

    from framemesh.devnet import Devnet, DevnetConfig

    if threads:
        os.environ["OMP_NUM_THREADS"] = str(threads)  # read by torch in the spawned workers
        torch.set_num_threads(threads)
    figures = NetworkFigures(threads=torch.get_num_threads())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        toml = write_models(root / "models")
        print("starting a devnet (chain, 2 orchestrators, a gateway) and an off-chain pair ...", flush=True)
        with Devnet(DevnetConfig(root=root / "devnet", ai_config=toml)) as net, _offchain(root, toml) as (orch, gw):
            asyncio.run(_measure(net, orch, gw, toml, runs, figures))
    loads.extend(figures.loads)
    return figures


class _offchain:
    """An orchestrator and a gateway with no chain: no tickets."""

    def __init__(self, root: Path, toml: Path) -> None:
        self.root, self.toml = root / "offchain", toml
        self.nodes: list[Any] = []

    def __enter__(self) -> tuple[Any, Any]:
        from framemesh.gateway.app import create_app as create_gateway
        from framemesh.gateway.config import GatewayConfig
        from framemesh.net.server import ServerThread
        from framemesh.orchestrator.app import create_app as create_orchestrator
        from framemesh.orchestrator.config import OrchestratorConfig

        config = OrchestratorConfig(data_dir=self.root / "o", name="o", capacity=1, ai_config=self.toml)
        self.nodes.append(ServerThread(create_orchestrator(config)).start(timeout=600))
        gateway = GatewayConfig(data_dir=self.root / "gw", orchestrators=(self.nodes[0].url,), open=True)
        self.nodes.append(ServerThread(create_gateway(gateway)).start())
        return self.nodes[0], self.nodes[1]

    def __exit__(self, *exc: object) -> None:
        for node in reversed(self.nodes):
            node.stop()


async def _measure(net: Any, orch: Any, gw: Any, toml: Path, runs: int, figures: NetworkFigures) -> None:
    from framemesh.ai.text_to_image import TextToImage

    config = load_config(toml)
    pipe = TextToImage(config.models[0])
    pipe.load()
    figures.steps = steps = _calibrate(pipe)
    async with ModelHost(config) as host, httpx.AsyncClient(timeout=300) as client:
        await _ready(client, net.gateway.url)
        await _ready(client, gw.url)
        for i in range(3):  # warm every path: NudeNet loads on a worker's first job
            await host.run("text-to-image", SD, job(100 + i, steps))
            for url in (net.gateway.url, gw.url):
                await _gateway_job(client, url, job(200 + i, steps))
        hit = job(HIT_SEED, steps)
        for url in (net.gateway.url, gw.url):  # computed once, then cached
            await _gateway_job(client, url, hit)
        spans = Spans.install(net)
        with Progress() as progress:
            task = progress.add_task("network", total=runs * 7)
            for i in range(runs):  # fresh seeds: no cache; the ways take turns
                fresh = [job(1000 * way + i, steps) for way in (1, 2, 3)]
                figures.pipeline.append(await _timed(partial(asyncio.to_thread, pipe.run, fresh[0]), net))
                figures.host.append(await _timed(partial(host.run, "text-to-image", SD, fresh[1]), net))
                figures.gateway.append(await _timed(partial(_gateway_job, client, net.gateway.url, fresh[2]), net))
                spans.cut()
                figures.loads.append(os.getloadavg()[0])
                progress.advance(task, 3)
            figures.spans_fresh, spans.times = spans.times, {}
            for _ in range(runs):
                figures.hit_gateway.append(await _timed(lambda: _gateway_job(client, net.gateway.url, hit), net))
                spans.cut()
                figures.hit_gateway_unpaid.append(await _timed(lambda: _gateway_job(client, gw.url, hit), net))
                figures.hit_orchestrator.append(await _timed(lambda: _orchestrator_job(client, orch.url, hit), net))
                figures.hit_host.append(await _timed(lambda: host.run("text-to-image", SD, hit), net))
                progress.advance(task, 4)
            figures.spans = spans.times
        result = await host.run("text-to-image", SD, hit)
        figures.png_bytes = len(result.images[0].png)
        await _parts(client, net, result, figures)


def _calibrate(pipe: Any, low: int = 1, high: int = 16) -> int:
    """Steps that make the pipeline take about TARGET seconds at SIZE (the time is
    linear in the steps: medians of 3 at two step counts)."""
    pipe.run(job(0, 1))  # warm: NudeNet loads on the first job
    low_time, high_time = (statistics.median(_clock(partial(pipe.run, job(0, n))) for _ in range(3)) for n in (low, high))
    per_step = max((high_time - low_time) / (high - low), 1e-4)
    return max(1, round(low + (TARGET - low_time) / per_step))


def _clock(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


class Spans:
    """Wall time spent in named methods of the devnet's live nodes (wrapped in place,
    for this benchmark only): where a request's time goes, as it runs."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self._open: dict[str, float] = {}

    @classmethod
    def install(cls, net: Any) -> Spans:
        spans = cls()
        dispatcher = net.gateway.app.state.gateway.ai
        spans.wrap(dispatcher, "run", "gateway: dispatch (pay, send, verify)")
        spans.wrap(dispatcher.payer, "payment_header", "gateway: make the payment (tickets)")
        spans.wrap(dispatcher, "_send", "gateway: POST to the orchestrator until the bundle is unpacked")
        spans.wrap(dispatcher, "_verify", "gateway: verify the output's C2PA manifest")
        for node in net.orchestrators:
            ai = node.server.app.state.ai
            spans.wrap(ai, "run", "orchestrator: the job (form, checks, pay, host, sign)")
            spans.wrap(ai.billing, "take_payment", "orchestrator: check and credit the tickets")
            spans.wrap(ai.host, "run", "orchestrator: ModelHost.run (the model, or its cache)")
            spans.wrap(ai, "run_in_pool", "orchestrator: sign + bundle (process pool)")
            spans.wrap(ai, "_read", "orchestrator: read the form")
            spans.wrap(ai.billing, "charge", "orchestrator: charge the job")
        runner = net.gateway.app.state.gateway.ai_runner
        spans.wrap(runner, "run_request", "gateway: the job (records, dispatch)")
        spans.wrap(runner, "recall", "gateway: exact-result cache lookup")
        for name in dir(runner.store):
            if not name.startswith("_") and callable(getattr(runner.store, name)):
                spans.wrap(runner.store, name, "gateway: job records in SQLite (AIJobStore)")
        return spans

    def wrap(self, obj: Any, attr: str, name: str) -> None:
        original = getattr(obj, attr)

        def add(start: float) -> None:
            self._open[name] = self._open.get(name, 0.0) + time.perf_counter() - start

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                add(start)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                add(start)

        setattr(obj, attr, timed_async if inspect.iscoroutinefunction(original) else timed)

    def cut(self) -> None:
        """End one request: its spans become one sample each."""
        for name, seconds in self._open.items():
            self.times.setdefault(name, []).append(seconds)
        self._open.clear()


async def _timed(fn: Callable[[], Awaitable[Any]], net: Any = None) -> float:
    if net is not None:  # untimed: the in-process chain redeems the last job's winning tickets first
        await asyncio.to_thread(net.wait_redeemed)
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


async def _ready(client: httpx.AsyncClient, gateway: str, timeout: float = 60.0) -> None:
    """Until the gateway has found an orchestrator serving the model."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        offered = (await client.get(f"{gateway}/ai/models")).json()
        if any(o["model_id"] == SD and o["orchestrators"] for o in offered):
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{gateway} found no orchestrator serving {SD}")


async def _gateway_job(client: httpx.AsyncClient, gateway: str, request: TextToImageRequest) -> dict[str, Any]:
    response = await client.post(f"{gateway}/text-to-image", json=body(request))
    if response.status_code != 200:
        raise RuntimeError(f"{gateway} answered {response.status_code}: {response.text}")
    return response.json()


async def _orchestrator_job(client: httpx.AsyncClient, orchestrator: str, request: TextToImageRequest) -> bytes:
    from framemesh.wire.ai import REQUEST_PART

    response = await client.post(
        f"{orchestrator}/ai/text-to-image", params={"job_id": "bench"}, data={REQUEST_PART: json.dumps(body(request))}
    )  # a form with no file, as the gateway sends a text-to-image job
    if response.status_code != 200:
        raise RuntimeError(f"{orchestrator} answered {response.status_code}: {response.text}")
    return response.content


async def _parts(client: httpx.AsyncClient, net: Any, result: Any, figures: NetworkFigures, runs: int = 9) -> None:
    """The parts of a cache hit, each timed alone on the same output."""
    from framemesh.orchestrator.ai_work import package_result
    from framemesh.provenance.verify import read_provenance
    from framemesh.wire.ai import read_ai_bundle

    orchestrator = net.orchestrators[0]
    signing = orchestrator.server.app.state.ai.signing
    anchors = [(net.keys_dir / "ca.pem").read_text()]
    parts: dict[str, list[float]] = {}
    ctx = multiprocessing.get_context("forkserver")
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(1, mp_context=ctx) as pool:
        work = Path(tmp)
        loop = asyncio.get_running_loop()
        def sign(into: Path) -> partial[Path]:
            return partial(
                package_result, "text-to-image", SD, result, {}, into, signing,
                job_id="bench", units=SIZE * SIZE, price=0, orchestrator="o", started=time.time(),
            )

        def add(name: str, seconds: float) -> None:
            parts.setdefault(name, []).append(seconds)

        for i in range(runs):
            add("HTTP round trip to the gateway (GET /healthz)", await _timed(lambda: client.get(f"{net.gateway.url}/healthz")))
            add("HTTP round trip to an orchestrator (GET /healthz)", await _timed(lambda: client.get(f"{orchestrator.url}/healthz")))
            start = time.perf_counter()
            bundle = sign(work / f"w{i}")()
            add("sign (C2PA) + bundle, in this process", time.perf_counter() - start)
            start = time.perf_counter()
            await loop.run_in_executor(pool, sign(work / f"p{i}"))
            add("the same through a forkserver pool, as the orchestrator runs it", time.perf_counter() - start)
            start = time.perf_counter()
            _, files = read_ai_bundle(bundle, work / f"r{i}")
            add("unpack + hash-check the bundle (gateway)", time.perf_counter() - start)
            start = time.perf_counter()
            read_provenance(next(iter(files.values())), trust_anchors=anchors)
            add("verify the C2PA manifest against the CA (gateway)", time.perf_counter() - start)
    figures.parts = parts


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f}"


def _spread(values: list[float]) -> str:
    return f"{min(values) * 1000:.1f}-{max(values) * 1000:.1f}"


def network_markdown(f: NetworkFigures, command: str) -> list[str]:
    pipeline, host, gateway = (statistics.median(v) for v in (f.pipeline, f.host, f.gateway))
    n = len(f.gateway)
    lines = [
        (
            f"The tiny SD model (`framemesh models tiny`) at {SIZE}x{SIZE}, {f.steps} steps (chosen for about {TARGET:g} s), PNG of {f.png_bytes / 1e6:.2f} MB; "
            "a devnet in one process (embedded chain, 2 staked orchestrators, a gateway paying in tickets, C2PA "
            f"checked against the dev CA, HTTP on loopback; each model in its own worker process, torch on {f.threads} "
            "thread(s) in every process), plus an off-chain "
            f"orchestrator and gateway. Median of {n} each (range in brackets); load average "
            f"{min(f.loads):.1f}-{max(f.loads):.1f}. Command: `{command}` (part 2; code: `benchmarks/ai_network.py`)."
        ),
        "",
        "| a job of about a second (fresh seed, no cache) | median (s) | range (s) | over the pipeline | over the host |",
        "| --- | ---: | --- | ---: | ---: |",
        f"| `TextToImage.run` in this process | {pipeline:.3f} | {_spread_s(f.pipeline)} | — | — |",
        f"| `ModelHost.run` (worker process) | {host:.3f} | {_spread_s(f.host)} | {host / pipeline - 1:+.1%} | — |",
        (
            f"| through the gateway (HTTP, tickets, sign, verify) | {gateway:.3f} | {_spread_s(f.gateway)} | "
            f"{gateway / pipeline - 1:+.1%} ({(gateway - pipeline) * 1000:.0f} ms) | "
            f"{gateway / host - 1:+.1%} ({(gateway - host) * 1000:.0f} ms) |"
        ),
        "",
        "| the same request again (exact-result cache hit) | median (ms) | range (ms) |",
        "| --- | ---: | --- |",
        f"| client → gateway (its exact-result cache), devnet | {_ms(f.hit_gateway)} | {_spread(f.hit_gateway)} |",
        f"| client → gateway (its exact-result cache), no chain | {_ms(f.hit_gateway_unpaid)} | {_spread(f.hit_gateway_unpaid)} |",
        f"| straight to the orchestrator (`POST /ai/text-to-image`), no chain | {_ms(f.hit_orchestrator)} | {_spread(f.hit_orchestrator)} |",
        f"| `ModelHost.run` in this process | {_ms(f.hit_host)} | {_spread(f.hit_host)} |",
        "",
        f"| part of a cache hit, timed alone ({f.png_bytes / 1e6:.2f} MB PNG) | median (ms) | range (ms) |",
        "| --- | ---: | --- |",
    ]
    lines += [f"| {name} | {_ms(v)} | {_spread(v)} |" for name, v in f.parts.items()]
    lines += [
        "",
        "| inside the devnet's nodes during the paid cache hits (methods timed in place) | median (ms) | range (ms) |",
        "| --- | ---: | --- |",
    ]
    lines += [f"| {name} | {_ms(v)} | {_spread(v)} |" for name, v in f.spans.items()]
    lines += [
        "",
        "| inside the devnet's nodes during the fresh jobs through the gateway | median (ms) | range (ms) |",
        "| --- | ---: | --- |",
    ]
    lines += [f"| {name} | {_ms(v)} | {_spread(v)} |" for name, v in f.spans_fresh.items()]
    return lines


def _spread_s(values: list[float]) -> str:
    return f"{min(values):.3f}-{max(values):.3f}"
