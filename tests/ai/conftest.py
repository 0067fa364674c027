"""Tiny real models, written once per session by the same writer `framemesh models
tiny` uses; pipelines loaded once per session and shared between tests."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")



@pytest.fixture(autouse=True)
def _quiet_third_party() -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        for module in ("diffusers", "transformers", "torch", "silero_vad", "sentence_transformers", "onnxruntime", "huggingface_hub"):
            warnings.filterwarnings("ignore", category=UserWarning, module=module)
        yield


def png(width: int, height: int, seed: int = 0) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def image_of(data: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(data))


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("diffusers")
    from framemesh.ai.tiny import write_tiny_models

    out = tmp_path_factory.mktemp("tiny-models")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_tiny_models(out)
    return out


@pytest.fixture(scope="session")
def tiny_config(tiny_dir: Path) -> Any:
    from framemesh.ai.config import load_config

    return load_config(tiny_dir / "models.toml")


@pytest.fixture(scope="session")
def loaded() -> Any:
    """pipeline factory: one loaded pipeline per (spec), shared by the session."""
    cache: dict[Any, Any] = {}

    def get(spec: Any) -> Any:
        from framemesh.ai.pipeline import create_pipeline

        if spec not in cache:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pipe = create_pipeline(spec)
                pipe.load()
            cache[spec] = pipe
        return cache[spec]

    yield get
    for pipe in cache.values():
        pipe.unload()
