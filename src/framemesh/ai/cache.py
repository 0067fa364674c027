"""The exact-result cache: the same model, parameters, seed and inputs give the same
output, so the stored output is returned with no compute.

Keyed by a SHA-256 over the pipeline, the model (id, directory, options) and every
field of the request (input files by their hash). Stored on disk, one pickle per key,
written atomically; a hit's `result.info["cache"]` is "hit". Diffusion and LLM
requests without a seed ask for a random output and are never cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from framemesh.ai.config import SAMPLING_PIPELINES, ModelSpec


def cache_key(spec: ModelSpec, request: Any) -> str | None:
    """The request's key on this node (its model directory and cost savers included), or
    None when its output is meant to be random."""
    return request_key(
        spec.pipeline, spec.model_id, request, {"path": str(spec.path), "options": dataclasses.asdict(spec.options)}
    )


def request_key(pipeline: str, model_id: str, request: Any, node: dict[str, Any] | None = None) -> str | None:
    """A SHA-256 over the pipeline, model, every field of the request (input files by
    their hash) and what `node` adds; None when the output is meant to be random
    (a sampling pipeline without a seed)."""
    if pipeline in SAMPLING_PIPELINES and getattr(request, "seed", 0) is None:
        return None
    fields = {}
    for f in dataclasses.fields(request):
        value = getattr(request, f.name)
        if isinstance(value, bytes):
            value = "sha256:" + hashlib.sha256(value).hexdigest()
        fields[f.name] = value
    material = {"pipeline": pipeline, "model_id": model_id, "request": fields, **(node or {})}
    blob = json.dumps(material, sort_keys=True, default=repr).encode()
    return hashlib.sha256(blob).hexdigest()


class ResultCache:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pickle"

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            with path.open("rb") as fh:
                result = pickle.load(fh)  # our own files, written by put()
        except (FileNotFoundError, EOFError, pickle.UnpicklingError):
            self.misses += 1
            return None
        self.hits += 1
        return dataclasses.replace(result, info={**result.info, "cache": "hit"})

    def put(self, key: str, result: Any) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
