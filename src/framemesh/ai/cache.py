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
import threading
from pathlib import Path
from typing import Any

from framemesh.ai.config import SAMPLING_PIPELINES, STATEFUL_PIPELINES, ModelSpec


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
    if pipeline in STATEFUL_PIPELINES or (pipeline in SAMPLING_PIPELINES and getattr(request, "seed", 0) is None):
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
    """Results on disk, at most `max_bytes` of them: past that, the least recently used
    (written or read) go first, down to nine tenths of the bound. Safe from several
    threads (the model host's)."""

    def __init__(self, root: str | Path, *, max_bytes: int = 2 << 30) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.evicted = 0
        self._lock = threading.Lock()
        self._bytes = sum(p.stat().st_size for p in self._files())

    @property
    def size(self) -> int:
        """Bytes the cache holds on disk."""
        return self._bytes

    def _files(self) -> list[Path]:
        return list(self.root.glob("*/*.pickle"))

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pickle"

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            with path.open("rb") as fh:
                result = pickle.load(fh)  # our own files, written by put()
            os.utime(path)  # recently used: evicted last
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
        size = os.path.getsize(tmp)
        with self._lock:
            old = path.stat().st_size if path.exists() else 0
            os.replace(tmp, path)
            self._bytes += size - old
            if self._bytes > self.max_bytes:
                self._evict(int(self.max_bytes * 0.9))

    def _evict(self, target: int) -> None:
        aged = sorted(((p.stat().st_mtime, p) for p in self._files()), key=lambda item: item[0])
        for _, path in aged:
            if self._bytes <= target:
                break
            size = path.stat().st_size
            path.unlink(missing_ok=True)
            self._bytes -= size
            self.evicted += 1
