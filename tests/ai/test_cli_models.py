from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from framemesh.ai.config import PIPELINE_NAMES
from framemesh.cli.models import models_app


def test_check_prints_what_a_models_toml_serves(tmp_path: Path) -> None:
    toml = tmp_path / "models.toml"
    toml.write_text('[[models]]\npipeline = "audio-to-text"\nmodel_id = "pocketsphinx/en-us"\nprice_per_unit = 3\n')
    result = CliRunner().invoke(models_app, ["check", str(toml)])
    assert result.exit_code == 0, result.output
    assert "audio-to-text" in result.output and "3 wei/unit" in result.output and "built-in" in result.output


def test_check_names_the_bad_key_and_exits_2(tmp_path: Path) -> None:
    toml = tmp_path / "models.toml"
    toml.write_text('[[models]]\npipeline = "audio-to-text"\nmodel_id = "pocketsphinx/en-us"\ncapacity = 0\n')
    result = CliRunner().invoke(models_app, ["check", str(toml)])
    assert result.exit_code == 2
    assert "models[0].capacity: must be an integer >= 1" in result.output


def test_tiny_writes_models_and_a_toml_that_parses(tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    from framemesh.ai.config import load_config

    result = CliRunner().invoke(models_app, ["tiny", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    assert "--ai-config" in result.output
    config = load_config(tmp_path / "m" / "models.toml")
    assert {m.pipeline for m in config.models} == set(PIPELINE_NAMES), "every pipeline served"
    assert (tmp_path / "m" / "tiny-sd" / "unet" / "config.json").is_file()
    assert (tmp_path / "m" / "tiny-llm" / "tokenizer.json").is_file()
