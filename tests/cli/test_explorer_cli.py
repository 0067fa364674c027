"""`framemesh explorer` as its own process, on the embedded chain served over JSON-RPC:
it indexes the deployment, follows the head, serves the pages, and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from framemesh.chain.backend import Chain
from framemesh.chain.local import ServedChain, free_port
from tests.cli.test_cli import framemesh
from tests.e2e.scrape import Scrape


def test_explorer_indexes_follows_and_serves(tmp_path: Path) -> None:
    with ServedChain.start() as chain:
        deployed = framemesh("chain", "deploy", "--rpc", chain.url, "--round-length", "10", cwd=tmp_path)
        assert deployed.returncode == 0, deployed.stderr
        registered = framemesh("orchestrator", "register", "--rpc", chain.url, "--reward-cut", "10%", "--fee-share", "50%",
                               "--service-uri", "http://127.0.0.1:9", "--stake", "100 FMT", "--dev-account", "0", cwd=tmp_path)
        assert registered.returncode == 0, registered.stderr
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "framemesh", "explorer", "--rpc", chain.url, "--port", str(port), "--interval", "0.5",
             "--log-level", "warning"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            body = None
            while time.monotonic() < deadline:
                try:
                    response = httpx.get(f"{url}/api/orchestrators", timeout=5)
                    if response.status_code == 200 and response.json()["orchestrators"]:
                        body = response.json()
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                time.sleep(0.3)
            assert body is not None, "the explorer never listed the registered orchestrator"
            me = Chain.connect(chain.url).accounts[0].address
            assert body["orchestrators"][0]["address"].lower() == me.lower()
            assert body["orchestrators"][0]["reward_cut"] == 0.1
            page = httpx.get(f"{url}/orchestrators", timeout=5)
            assert page.status_code == 200 and me[:6] in page.text
            assert (tmp_path / "framemesh-data" / "explorer.sqlite").is_file()
            # its own /metrics: how far its index has come, against the chain's head
            head = Chain.connect(chain.url).block_number
            found = Scrape(httpx.get(f"{url}/metrics", timeout=5).text)
            assert found.families["framemesh_explorer_indexed_block"].type == "gauge"
            assert 0 < found.value("framemesh_explorer_indexed_block") <= head
            assert found.value("framemesh_explorer_blocks_behind") >= 0
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "explorer of chain" in out
