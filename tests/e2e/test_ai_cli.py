"""`framemesh orchestrator start --ai-config` and `framemesh gateway start --api-token`,
each a real process started with the real command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from framemesh.net.server import free_port
from tests.e2e.ai_nodes import PIPER, write_models
from tests.e2e.nodes import NodeProcess

pytest.importorskip("piper")


def test_nodes_started_from_the_command_line_serve_ai(tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    models = write_models(tmp_path / "models", ("text-to-speech",))
    orch = NodeProcess(
        ["orchestrator", "start", "--name", "o1", "--data-dir", str(tmp_path / "o1"), "--ai-config", str(models)],
        free_port(), tmp_path / "o1.log",
    ).wait_ready(timeout=300)
    try:
        gw = NodeProcess(
            ["gateway", "start", "--data-dir", str(tmp_path / "gw"), "--orchestrator", orch.url, "--api-token", "t0ken"],
            free_port(), tmp_path / "gw.log",
        ).wait_ready()
        try:
            info = httpx.get(f"{orch.url}/info").json()
            assert [c["model_id"] for c in info["capabilities"]["ai"]] == [PIPER]
            auth = {"Authorization": "Bearer t0ken"}
            response = httpx.post(f"{gw.url}/text-to-speech", json={"text": "from the command line"}, headers=auth, timeout=120)
            assert response.status_code == 200, response.text
            assert httpx.post(f"{gw.url}/text-to-speech", json={"text": "x"}).status_code == 401
            assert "t0ken" not in gw.log_path.read_text(), "the token is not printed"
        finally:
            gw.stop()
    finally:
        orch.stop()


def test_a_bad_models_toml_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "models.toml"
    bad.write_text('[[models]]\npipeline = "text-to-image"\nmodel_id = "x"\nprice_per_unit = -1\npath = "."\n')
    result = subprocess.run(
        [sys.executable, "-m", "framemesh", "orchestrator", "start", "--data-dir", str(tmp_path / "o"),
         "--ai-config", str(bad), "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 2
    assert "models[0].price_per_unit" in result.stdout + result.stderr
