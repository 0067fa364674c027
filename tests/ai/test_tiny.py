"""The tiny-model writer: real architectures, a real tokenizer, reloadable offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("diffusers")


def test_every_pipeline_is_served_by_the_written_toml(tiny_dir: Path, tiny_config) -> None:  # type: ignore[no-untyped-def]
    from framemesh.ai.config import PIPELINE_NAMES

    assert {spec.pipeline for spec in tiny_config.models} == set(PIPELINE_NAMES)
    assert tiny_config.cache_dir == tiny_dir / "cache"
    index = json.loads((tiny_dir / "tiny-svd" / "model_index.json").read_text())
    assert index["_class_name"] == "StableVideoDiffusionPipeline"
    assert index["unet"] == ["diffusers", "UNetSpatioTemporalConditionModel"]
    sd_index = json.loads((tiny_dir / "tiny-sd" / "model_index.json").read_text())
    assert sd_index["unet"] == ["diffusers", "UNet2DConditionModel"]
    assert sd_index["text_encoder"] == ["transformers", "CLIPTextModel"]


def test_the_tokenizer_on_disk_really_tokenizes(tiny_dir: Path) -> None:
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(str(tiny_dir / "tiny-sd" / "tokenizer"), local_files_only=True)
    ids = tok("a cat").input_ids
    cat = tok("a dog").input_ids
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    assert len(ids) == 2 + len("acat")  # one token per character, no merges
    assert ids != cat
    assert tok.unk_token_id not in ids[1:-1]  # the STACK-NOTES trap: every word → <|endoftext|>
    assert tok.model_max_length == 77
