"""Packaging an AI result: its files written, each signed with C2PA, and the tar
bundle the gateway unpacks (`framemesh.wire.ai`).

Runs in the orchestrator's worker pool (hashing and signing are CPU work), so it is a
plain function of picklable arguments; the identity is loaded here from the paths in
the `SigningSpec`, never pickled.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from framemesh.orchestrator.signing import SigningSpec
from framemesh.wire.ai import AIOutput, AIResult, Chunk, write_ai_bundle
from framemesh.wire.bundle import sha256_file

_MAGIC = (
    (b"\x89PNG", ".png"),
    (b"\xff\xd8", ".jpg"),
    (b"GIF8", ".gif"),
)


def input_suffix(data: bytes) -> str:
    """A file extension for an input's bytes (what c2pa needs to read it as an ingredient)."""
    for magic, suffix in _MAGIC:
        if data.startswith(magic):
            return suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return ".wav"
    if data[4:8] == b"ftyp":
        return ".mp4"
    if data[:3] == b"ID3" or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return ".mp3"
    return ".bin"


def package_result(
    pipeline: str,
    model_id: str,
    result: Any,
    inputs: dict[str, bytes],
    work_dir: Path,
    signing: SigningSpec,
    *,
    job_id: str,
    units: int,
    price: int,
    orchestrator: str,
    started: float,
    parameters: dict[str, Any] | None = None,
) -> Path:
    """Write `result`'s files into `work_dir`, sign them, and bundle them; returns the bundle."""
    from framemesh.provenance.sign import Facts, Ingredient, sign_file

    work_dir.mkdir(parents=True, exist_ok=True)
    ingredients = []
    for name, data in inputs.items():
        path = work_dir / f"input-{name}{input_suffix(data)}"
        path.write_bytes(data)
        ingredients.append(Ingredient(path, "inputTo", title=f"{name} sent to {pipeline}"))
    made = _write_outputs(result, work_dir)
    identity = signing.identity() if made else None
    outputs, files = [], {}
    for name, kind, seed, nsfw in made:
        path = work_dir / name
        facts = Facts(
            kind="generated", address=signing.address, job_id=job_id, pipeline=pipeline,
            model=model_id, ingredients=tuple(ingredients), parameters=parameters,
        )
        sign_file(path, path, identity, facts)  # type: ignore[arg-type]
        outputs.append(
            AIOutput(file=name, kind=kind, seed=seed, nsfw=nsfw, bytes=path.stat().st_size, sha256=sha256_file(path))
        )
        files[name] = path
    text = getattr(result, "text", None)
    chunks = [Chunk(timestamp=list(c.timestamp), text=c.text) for c in getattr(result, "chunks", [])]
    manifest = AIResult(
        pipeline=pipeline, model_id=model_id, job_id=job_id, units=units, price=price, outputs=outputs,
        text=text, chunks=chunks, info=_jsonable(getattr(result, "info", {})), orchestrator=orchestrator,
        elapsed=time.time() - started,
    )
    return write_ai_bundle(manifest, files, work_dir / "result.tar")


def _write_outputs(result: Any, work_dir: Path) -> list[tuple[str, str, int, bool]]:
    """(file name, kind, seed, nsfw) of each output file written."""
    made = []
    if hasattr(result, "images"):
        for i, image in enumerate(result.images):
            (work_dir / f"image-{i}.png").write_bytes(image.png)
            made.append((f"image-{i}.png", "image", image.seed, image.nsfw))
    elif hasattr(result, "videos"):
        from framemesh.ai.media import encode_mp4

        for i, video in enumerate(result.videos):
            (work_dir / f"video-{i}.mp4").write_bytes(encode_mp4(video.frames, video.fps))
            made.append((f"video-{i}.mp4", "video", video.seed, video.nsfw))
    elif hasattr(result, "mp4"):
        (work_dir / "video-0.mp4").write_bytes(result.mp4)
        made.append(("video-0.mp4", "video", result.seed, result.nsfw))
    elif hasattr(result, "wav"):
        (work_dir / "speech.wav").write_bytes(result.wav)
        made.append(("speech.wav", "audio", 0, False))
    return made


def _jsonable(info: dict[str, Any]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in info.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            out[str(key)] = value
        else:
            out[str(key)] = str(value)
    return out
