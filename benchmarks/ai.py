"""AI: text-to-image with Stable Diffusion 1.5's architecture, plain diffusers vs
framemesh with each cost saver, and what the network adds to an AI job.

Part 1, in this process, 512x512, 4 DDIM steps, guidance 7.5, seed 42: the model is SD
1.5's UNet (860 M parameters), VAE and CLIP text encoder at full size with random
weights (`framemesh.ai.tiny.write_sd15_random`, written once to `.cache/benchmarks/`,
4 GB): the compute per step is the real one, the images are noise. Every way shares
the one loaded copy of the weights:

- plain diffusers: `StableDiffusionPipeline(prompt, ...)`, what a user would call instead;
- framemesh's `TextToImage` pipeline (as an orchestrator's worker runs it: PNG out,
  NudeNet verdict) with no cost saver, then with each one on.

The ways take turns, `--repeat` rounds, so a burst of other work on the machine hits
all of them alike; the table gives each way's median wall time and its ratio to plain
diffusers, and the load average seen.

Part 2, through the network (`benchmarks/ai_network.py`): a devnet (embedded chain,
two staked orchestrators, a funded gateway paying in tickets, C2PA on every output,
real HTTP on loopback) serving the tiny SD model; a cache hit's latency end to end, and
the overhead of the gateway and orchestrator on a job of about one second.

Run:  python benchmarks/ai.py [--repeat 2] [--no-write] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from framemesh.ai import ModelHost, ModelOptions, ModelSpec
from framemesh.ai.cache import cache_key
from framemesh.ai.config import AIConfig
from framemesh.ai.requests import TextToImageRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ai_network import measure_network, network_markdown
from report import update_section  # benchmarks/report.py

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "benchmarks"
PLOT = ROOT / "benchmarks" / "ai.png"
MODEL_ID = "bench/sd15-random"
SIZE, STEPS, GUIDANCE, SEED = 512, 4, 7.5, 42
PROMPT = "a red fox sitting in a snowy forest at dawn"
CLOSE_PROMPT = "a red fox sitting in a snowy forest at sunrise"
SHORT_PROMPT = "a cat"
LONG_PROMPT = (
    "a detailed oil painting of an old lighthouse on a rocky cliff, stormy sea, "
    "seagulls, warm light in 3 windows, dramatic clouds, fishing boats, golden hour"
)
AUTO_STEPS = (2, 6)  # the steps-by-complexity range, around the 4-step budget
SIMILAR_THRESHOLD = 0.8


def sd15_dir() -> Path:
    """SD 1.5's architecture with random weights, written once (about 20 s, 4 GB)."""
    path = CACHE / "sd15-random"
    if not (path / "model_index.json").exists():
        from framemesh.ai.tiny import write_sd15_random

        print(f"writing SD 1.5's architecture with random weights to {path} ...", flush=True)
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        write_sd15_random(tmp)
        tmp.rename(path)
    return path


def request(prompt: str = PROMPT, steps: int | None = STEPS) -> TextToImageRequest:
    return TextToImageRequest(
        prompt=prompt, model_id=MODEL_ID, width=SIZE, height=SIZE, guidance_scale=GUIDANCE,
        seed=SEED, num_inference_steps=steps,
    )


@dataclass
class Way:
    """One way to make the image; `before`/`after` run untimed around each timed call."""

    name: str
    run: Callable[[], Any]
    before: Callable[[], Any] | None = None
    after: Callable[[], Any] | None = None
    note: str = ""
    times: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def median(self) -> float:
        return statistics.median(self.times)


class Bench:
    """The loaded SD 1.5 weights and framemesh pipelines that share them."""

    def __init__(self, path: Path) -> None:
        import torch
        from diffusers import StableDiffusionPipeline

        self.path = path
        self.base = StableDiffusionPipeline.from_pretrained(str(path), local_files_only=True, dtype=torch.float32)
        self.base.set_progress_bar_config(disable=True)

    def warm_up(self) -> None:
        """First calls at each shape are slow (oneDNN sets up its kernels): one step at
        each size the ways use, and the VAE's encoder (image-to-image) at full size."""
        import torch

        for side in (SIZE, SIZE // 2, SIZE // 4):
            self.base("warm up", height=side, width=side, num_inference_steps=1)
        with torch.no_grad():
            self.base.vae.encode(torch.zeros(1, 3, SIZE, SIZE))

    def spec(self, **options: Any) -> ModelSpec:
        return ModelSpec("text-to-image", MODEL_ID, self.path, options=ModelOptions(**options))

    def framemesh(self, **options: Any) -> Any:
        """framemesh's TextToImage with these options, on the already loaded weights
        (its own load would read the same directory into another 4 GB)."""
        from framemesh.ai import text_to_image

        def shared(cls: Any, _path: Any) -> Any:
            pipe = cls.from_pipe(self.base)
            pipe.set_progress_bar_config(disable=True)
            return pipe

        pipe = text_to_image.TextToImage(self.spec(**options))
        with mock.patch.object(text_to_image, "load_diffusers", shared):
            pipe.load()
        return pipe

    def plain(self, req: TextToImageRequest) -> Any:
        """What a user of diffusers writes: the pipeline called on the prompt."""
        import torch

        generator = torch.Generator("cpu").manual_seed(req.seed or 0)
        return self.base(
            req.prompt, height=req.height, width=req.width, guidance_scale=req.guidance_scale,
            num_inference_steps=req.num_inference_steps, generator=generator,
        ).images

    def unhook(self) -> None:
        """Take a feature cache's hooks off the shared UNet (DeepFeatureCache wraps the
        deep blocks' forward and adds a pre-hook; both are instance attributes)."""
        unet = self.base.unet
        unet._forward_pre_hooks.clear()
        for module in unet.modules():
            module.__dict__.pop("forward", None)


def local_ways(bench: Bench) -> list[Way]:
    none = {"prompt_embeds_cache": 0}  # every saver off (the embeddings cache is on by default)
    plain = bench.framemesh(**none)
    layered2 = bench.framemesh(layered_scale=2, **none)
    layered2r = bench.framemesh(layered_scale=2, refine_strength=0.3, refine_steps=1, **none)
    layered4 = bench.framemesh(layered_scale=4, **none)
    similar = bench.framemesh(similar_threshold=SIMILAR_THRESHOLD, **none)
    auto = bench.framemesh(auto_steps_min=AUTO_STEPS[0], auto_steps_max=AUTO_STEPS[1], **none)
    featured: dict[str, Any] = {}

    def feature_cache_on() -> None:
        featured["pipe"] = bench.framemesh(feature_cache=2, **none)

    def feature_cache_off() -> None:
        featured.clear()
        bench.unhook()

    primed: list[bool] = []

    def prime_similar() -> None:
        if not primed:  # an earlier image of the same size (1 step: its content does not matter)
            similar.run(request(PROMPT, steps=1))
            primed.append(True)

    return [
        Way("plain diffusers", lambda: bench.plain(request()), note="StableDiffusionPipeline called directly"),
        Way("framemesh, no saver", lambda: plain.run(request()), note="PNG + NudeNet verdict included"),
        Way("layered x2", lambda: layered2.run(request()), note=f"{STEPS} steps at {SIZE // 2}, Real-ESRGAN x2"),
        Way(
            "layered x2 + refine", lambda: layered2r.run(request()),
            note=f"+ image-to-image at {SIZE}, strength 0.3, 1 step",
        ),
        Way("layered x4", lambda: layered4.run(request()), note=f"{STEPS} steps at {SIZE // 4}, Real-ESRGAN x4"),
        Way(
            "feature cache 2", lambda: featured["pipe"].run(request()), before=feature_cache_on,
            after=feature_cache_off, note="deep UNet features reused on 2 of 4 steps",
        ),
        Way(
            "similar prompt", lambda: similar.run(request(CLOSE_PROMPT)), before=prime_similar,
            note=f"image-to-image from an earlier prompt's image, strength 0.35 (threshold {SIMILAR_THRESHOLD})",
        ),
        Way(
            "auto steps, short prompt", lambda: auto.run(request(SHORT_PROMPT, steps=None)),
            note=f"steps {AUTO_STEPS[0]}..{AUTO_STEPS[1]} by complexity: {SHORT_PROMPT!r}",
        ),
        Way(
            "auto steps, long prompt", lambda: auto.run(request(LONG_PROMPT, steps=None)),
            note=f"the same range, a {len(LONG_PROMPT.split())}-word prompt",
        ),
    ]


def run_local(bench: Bench, ways: list[Way], repeat: int, loads: list[float]) -> None:
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn()
    ) as progress:
        task = progress.add_task("SD 1.5 at 512x512", total=repeat * len(ways))
        for turn in range(repeat):
            for way in ways:  # the ways take turns: noise hits all alike
                progress.update(task, description=f"[{turn + 1}/{repeat}] {way.name}")
                if way.before is not None:
                    way.before()
                start = time.perf_counter()
                result = way.run()
                way.times.append(time.perf_counter() - start)
                if way.after is not None:
                    way.after()
                way.info = dict(getattr(result, "info", {}) or {})
                loads.append(os.getloadavg()[0])
                base = ways[0].median() if ways[0].times else way.times[-1]
                progress.console.print(
                    f"  {way.name}: {way.times[-1]:.1f} s ({base / way.times[-1]:.2f}x plain), "
                    f"load {loads[-1]:.1f} {way.info or ''}"
                )
                progress.advance(task)


async def host_cache_hit(bench: Bench, result: Any, tmp: Path, runs: int = 20) -> list[float]:
    """A repeated request answered by ModelHost's exact-result cache (no worker runs:
    the model is cold and stays cold)."""
    spec = ModelSpec("text-to-image", MODEL_ID, bench.path, warm=False, options=ModelOptions())
    async with ModelHost(AIConfig(models=(spec,), cache_dir=tmp / "cache")) as host:
        key = cache_key(spec, request())
        assert key is not None and host.cache is not None
        host.cache.put(key, result)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            hit = await host.run("text-to-image", MODEL_ID, request())
            times.append(time.perf_counter() - start)
            assert hit.info.get("cache") == "hit"
    return times


def embeddings_saving(bench: Bench, runs: int = 5) -> tuple[float, float]:
    """The text encoder's time (a miss) and a cache hit's, median seconds."""
    from framemesh.ai.diffusion import PromptEmbeddingsCache

    miss, hit = [], []
    for i in range(runs):
        cache = PromptEmbeddingsCache(4)
        start = time.perf_counter()
        cache.get(bench.base, f"{PROMPT} {i}", "", True)
        miss.append(time.perf_counter() - start)
        start = time.perf_counter()
        cache.get(bench.base, f"{PROMPT} {i}", "", True)
        hit.append(time.perf_counter() - start)
    return statistics.median(miss), statistics.median(hit)


def local_markdown(ways: list[Way], hit_ms: float, embeds: tuple[float, float], repeat: int) -> list[str]:
    base = ways[0].median()
    lines = [
        "| way | what runs | time per image (s) | runs (s) | speed-up vs plain diffusers |",
        "| --- | --- | ---: | --- | ---: |",
    ]
    for way in ways:
        runs = ", ".join(f"{t:.1f}" for t in way.times)
        extra = _info_note(way.info)
        lines.append(f"| {way.name} | {way.note}{extra} | {way.median():.1f} | {runs} | {base / way.median():.2f}x |")
    miss, hit = embeds
    plain = next((w for w in ways if w.name == "framemesh, no saver"), None)
    if plain is not None:
        derived = plain.median() - miss + hit
        lines.append(
            f"| prompt-embeds cache (hit) | the same prompt again: the text encoder skipped (framemesh's default) "
            f"| {derived:.1f} | no saver's median − {miss * 1000:.0f} ms | {base / derived:.2f}x |"
        )
    lines.append(
        f"| exact-result cache hit (ModelHost) | the stored result, no worker | {hit_ms / 1000:.4f} | median of 20 "
        f"| {base / (hit_ms / 1000):,.0f}x |"
    )
    lines += [
        "",
        (
            f"The prompt-embeddings cache saves the text encoder: {miss * 1000:.0f} ms per prompt (a hit: "
            f"{hit * 1000:.2f} ms; medians of 5), {miss / base:.1%} of an image here, well below the spread of the "
            "image times, so its row is that saving taken off the no-saver median rather than a run of its own."
        ),
    ]
    return lines


def _info_note(info: dict[str, Any]) -> str:
    notes = []
    if "auto_steps" in info:
        notes.append(f"{info['auto_steps']} steps chosen")
    if "reused_from" in info:
        notes.append("reused")
    if "feature_cache_skipped" in info:
        notes.append(f"{info['feature_cache_skipped']} UNet passes reused")
    return f" ({'; '.join(notes)})" if notes else ""


def plot(ways: list[Way], hit_ms: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [w.name for w in ways] + ["exact-result cache hit"]
    values = [w.median() for w in ways] + [hit_ms / 1000]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.2))
    colors = ["#888888"] + ["#3b6ea5"] * (len(ways) - 1) + ["#2a9d58"] * (len(names) - len(ways))
    bars = ax.barh(names[::-1], values[::-1], color=colors[::-1])
    ax.set_xscale("log")
    ax.set_xlabel(f"seconds per {SIZE}x{SIZE} image (log scale)")
    ax.set_title(f"SD 1.5 architecture, {STEPS} steps, CPU ({os.cpu_count()} cores)")
    for bar, value in zip(bars, values[::-1], strict=True):
        label = f"{value:.1f} s" if value >= 1 else f"{value * 1000:.1f} ms"
        ax.text(bar.get_width() * 1.05, bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=8)
    ax.set_xlim(right=max(values) * 4)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    global SIZE  # --size: smaller images while developing
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of the SD 1.5 ways; the table gives medians")
    parser.add_argument("--network-runs", type=int, default=9, help="jobs per way through the network")
    parser.add_argument("--only", nargs="*", help="run only these local ways (by name; for development)")
    parser.add_argument("--size", type=int, default=SIZE, help="image side (for development; the record is 512)")
    parser.add_argument(
        "--threads", type=int, default=0,
        help="torch threads in part 1 (0: torch's default, one per core); 1 is steadier on a shared machine",
    )
    parser.add_argument("--no-local", action="store_true", help="skip part 1 (SD 1.5)")
    parser.add_argument("--no-network", action="store_true", help="skip part 2 (the network)")
    parser.add_argument("--no-write", action="store_true", help="don't update BENCHMARKS.md and the plot")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    SIZE = args.size
    warnings.filterwarnings("ignore")
    write = not args.no_write and not args.only and SIZE == 512
    if not args.no_local:
        body = run_sd15(args)
        print(body)
        if write:
            update_section("ai", "AI", body)
    if not args.no_network:
        loads = [os.getloadavg()[0]]
        net = measure_network(args.network_runs, loads, args.threads)
        command = "python benchmarks/ai.py" + (f" --network-runs {args.network_runs}" if args.network_runs != 9 else "")
        command += f" --threads {args.threads}" if args.threads else ""
        body = "\n".join(network_markdown(net, command))
        print(body)
        if write:
            update_section("ai-network", "AI through the network", body)


def run_sd15(args: argparse.Namespace) -> str:
    """Part 1: every way in turns, the host's cache hit, the embeddings saving; the plot."""
    import tempfile

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    loads = [os.getloadavg()[0]]
    started = time.monotonic()
    bench = Bench(sd15_dir())
    ways = local_ways(bench)
    if args.only:
        ways = [w for w in ways if w.name == "plain diffusers" or w.name in args.only]
    bench.warm_up()
    run_local(bench, ways, args.repeat, loads)
    with tempfile.TemporaryDirectory() as tmp:
        framemesh_result = bench.framemesh(prompt_embeds_cache=0).run(request())
        hit = statistics.median(asyncio.run(host_cache_hit(bench, framemesh_result, Path(tmp))))
    embeds = embeddings_saving(bench)
    if not args.no_write and not args.only and SIZE == 512:
        plot(ways, hit * 1000, PLOT)
    command = "python benchmarks/ai.py" + (f" --repeat {args.repeat}" if args.repeat != 2 else "")
    command += f" --threads {args.threads}" if args.threads else ""
    threads = f"torch on {torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''}"
    lines = [
        (
            f"Text-to-image, {SIZE}x{SIZE}, {STEPS} DDIM steps, guidance {GUIDANCE}, seed {SEED}, one image, "
            "Stable Diffusion 1.5's UNet, VAE and CLIP text encoder at full size with random weights "
            f"(the compute is the real one); float32 on the CPU ({threads}), {platform.machine()}, {os.cpu_count()} cores, "
            f"shared with other work: load average {min(loads):.1f}-{max(loads):.1f} (1 min, sampled between runs). "
            f"Median of {args.repeat} rounds after a warm-up, the ways taking turns; this part took "
            f"{(time.monotonic() - started) / 60:.0f} min. Command: `{command}` (part 2, the network, is the next "
            "section). Plot: [benchmarks/ai.png](benchmarks/ai.png)."
        ),
        "",
        *local_markdown(ways, hit * 1000, embeds, args.repeat),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
