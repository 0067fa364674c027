"""models.toml: which pipelines and models an orchestrator serves, at what price.

```toml
cache_dir = "cache"            # optional: exact-result cache, relative to this file

[[models]]
pipeline = "text-to-image"     # one of PIPELINE_NAMES
model_id = "framemesh/tiny-sd" # what clients send as model_id
path = "tiny-sd"               # diffusers (llm: transformers) directory, relative to this file;
                               # omit for a built-in model id (see BUILTIN_MODELS)
price_per_unit = 1             # wei per unit (see framemesh.ai.units)
warm = true                    # start its worker at start-up (else on first request)
capacity = 1                   # worker processes = jobs at once

[models.options]               # cost savers, all optional (see ModelOptions)
layered_scale = 2
```

`load_config(path)` returns a frozen `AIConfig`; every error is a `ConfigError` that
names the bad key, e.g. ``models[2].options.layered_scale: must be 1, 2 or 4, got 3``.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from framemesh.ai.errors import ConfigError

PIPELINE_NAMES = (
    "text-to-image",
    "image-to-image",
    "image-to-video",
    "upscale",
    "audio-to-text",
    "text-to-speech",
    "llm",
    "mux",
    "live-video-to-video",
)

# Models that ship inside Python packages: served with no `path`.
BUILTIN_MODELS: dict[str, str] = {
    "framemesh/face-blur": "live-video-to-video",
    "framemesh/mux": "mux",
    "piper/en_US-joe-medium": "text-to-speech",
    "pocketsphinx/en-us": "audio-to-text",
    "realesrgan/x2": "upscale",
    "realesrgan/x4": "upscale",
}

DIFFUSERS_PIPELINES = ("text-to-image", "image-to-image", "image-to-video")
# Pipelines whose output is random unless the request gives a seed.
SAMPLING_PIPELINES = (*DIFFUSERS_PIPELINES, "llm")
# Pipelines whose output depends on what came before (a live stream's earlier frames):
# never answered from the result cache.
STATEFUL_PIPELINES = ("live-video-to-video",)


@dataclass(frozen=True)
class ModelOptions:
    """Cost savers of one model; each off unless set (except the cheap caches)."""

    result_cache: bool = True  # exact-result cache (when the config has a cache_dir)
    layered_scale: int = 1  # 2 or 4: denoise at 1/scale size, then Real-ESRGAN up
    refine_strength: float = 0.0  # > 0: an image-to-image pass after the upscale
    refine_steps: int = 2
    prompt_embeds_cache: int = 64  # prompts whose embeddings are kept; 0 = off
    similar_threshold: float = 0.0  # > 0: reuse an earlier image whose prompt is this close
    similar_strength: float = 0.35  # image-to-image strength when reusing
    auto_steps_min: int = 4  # steps range when the request leaves steps to the network
    auto_steps_max: int = 30
    feature_cache: int = 1  # N > 1: deep features reused for N-1 of every N steps

    def validate(self, where: str) -> None:
        if self.layered_scale not in (1, 2, 4):
            raise ConfigError(f"{where}.layered_scale: must be 1, 2 or 4, got {self.layered_scale}")
        for name in ("refine_strength", "similar_threshold", "similar_strength"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{where}.{name}: must be in 0..1, got {value}")
        if not 1 <= self.auto_steps_min <= self.auto_steps_max:
            raise ConfigError(
                f"{where}.auto_steps_min/auto_steps_max: need 1 <= min <= max, "
                f"got {self.auto_steps_min}, {self.auto_steps_max}"
            )
        if self.prompt_embeds_cache < 0 or self.refine_steps < 1 or self.feature_cache < 1:
            raise ConfigError(
                f"{where}: prompt_embeds_cache must be >= 0, refine_steps and feature_cache >= 1"
            )


@dataclass(frozen=True)
class ModelSpec:
    pipeline: str
    model_id: str
    path: Path | None = None  # None: a built-in model
    price_per_unit: int = 0
    warm: bool = True
    capacity: int = 1
    options: ModelOptions = field(default_factory=ModelOptions)

    @property
    def key(self) -> tuple[str, str]:
        return (self.pipeline, self.model_id)

    @cached_property
    def default_frames(self) -> int | None:
        """Frames an image-to-video model makes when a request leaves `num_frames` out
        (its UNet's `num_frames`), read from the directory without loading the model."""
        if self.pipeline != "image-to-video" or self.path is None:
            return None
        try:
            return int(json.loads((self.path / "unet" / "config.json").read_text())["num_frames"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


DEFAULT_CACHE_MB = 2048


@dataclass(frozen=True)
class AIConfig:
    models: tuple[ModelSpec, ...]
    cache_dir: Path | None = None
    cache_max_mb: int = DEFAULT_CACHE_MB  # the result cache's size; the least recently used go first

    def find(self, pipeline: str, model_id: str) -> ModelSpec | None:
        for spec in self.models:
            if spec.key == (pipeline, model_id):
                return spec
        return None


def load_config(path: str | Path) -> AIConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_config(raw, base=path.parent)


def parse_config(raw: dict[str, Any], base: Path = Path(".")) -> AIConfig:
    _no_unknown(raw, {"cache_dir", "cache_max_mb", "models"}, "")
    cache_dir = raw.get("cache_dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise ConfigError(f"cache_dir: must be a path string, got {cache_dir!r}")
    cache_max_mb = raw.get("cache_max_mb", DEFAULT_CACHE_MB)
    if not isinstance(cache_max_mb, int) or isinstance(cache_max_mb, bool) or cache_max_mb < 1:
        raise ConfigError(f"cache_max_mb: must be a whole number of MiB, at least 1, got {cache_max_mb!r}")
    entries = raw.get("models", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError("models: add at least one [[models]] table")
    specs = [_parse_model(entry, f"models[{i}]", base) for i, entry in enumerate(entries)]
    seen: set[tuple[str, str]] = set()
    for i, spec in enumerate(specs):
        if spec.key in seen:
            raise ConfigError(f"models[{i}]: {spec.pipeline} {spec.model_id!r} is listed twice")
        seen.add(spec.key)
    return AIConfig(
        models=tuple(specs), cache_dir=(base / cache_dir) if cache_dir is not None else None, cache_max_mb=cache_max_mb
    )


def _parse_model(entry: Any, where: str, base: Path) -> ModelSpec:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table")
    _no_unknown(
        entry,
        {"pipeline", "model_id", "path", "price_per_unit", "warm", "capacity", "options"},
        where + ".",
    )
    pipeline = _get(entry, "pipeline", str, where)
    if pipeline not in PIPELINE_NAMES:
        raise ConfigError(f"{where}.pipeline: unknown {pipeline!r}; one of {', '.join(PIPELINE_NAMES)}")
    model_id = _get(entry, "model_id", str, where)
    raw_path = entry.get("path")
    path: Path | None = None
    if raw_path is None:
        if BUILTIN_MODELS.get(model_id) != pipeline:
            builtins = [m for m, p in BUILTIN_MODELS.items() if p == pipeline]
            raise ConfigError(
                f"{where}.path: missing, and {model_id!r} is not a built-in {pipeline} model"
                f" (built-ins: {', '.join(builtins) or 'none'})"
            )
    else:
        if not isinstance(raw_path, str):
            raise ConfigError(f"{where}.path: must be a string, got {raw_path!r}")
        path = (base / raw_path).resolve()
        if not path.is_dir():
            raise ConfigError(f"{where}.path: {path} is not a directory")
    price = entry.get("price_per_unit", 0)
    if not isinstance(price, int) or isinstance(price, bool) or price < 0:
        raise ConfigError(f"{where}.price_per_unit: must be an integer >= 0 (wei), got {price!r}")
    warm = entry.get("warm", True)
    if not isinstance(warm, bool):
        raise ConfigError(f"{where}.warm: must be true or false, got {warm!r}")
    capacity = entry.get("capacity", 1)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ConfigError(f"{where}.capacity: must be an integer >= 1, got {capacity!r}")
    options = _parse_options(entry.get("options", {}), where + ".options")
    return ModelSpec(pipeline, model_id, path, price, warm, capacity, options)


def _parse_options(raw: Any, where: str) -> ModelOptions:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a table")
    known = {f.name: f for f in fields(ModelOptions)}
    _no_unknown(raw, set(known), where + ".")
    defaults = ModelOptions()
    for name, value in raw.items():
        expected = type(getattr(defaults, name))
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise ConfigError(f"{where}.{name}: must be {expected.__name__}, got {value!r}")
    options = ModelOptions(**{k: (float(v) if known[k].type == "float" else v) for k, v in raw.items()})
    options.validate(where)
    return options


def _get(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in entry:
        raise ConfigError(f"{where}.{key}: missing")
    value = entry[key]
    if not isinstance(value, kind) or not value:
        raise ConfigError(f"{where}.{key}: must be a non-empty {kind.__name__}, got {value!r}")
    return value


def _no_unknown(raw: dict[str, Any], known: set[str], prefix: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key; known keys: {', '.join(sorted(known))}")
