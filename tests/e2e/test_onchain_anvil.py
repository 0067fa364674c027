"""Each node its own process, on a real anvil chain: deploy, register, fund, transcode
paid in tickets; an orchestrator killed after winning tickets redeems them all, once,
after it restarts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from framemesh.chain.anvil import Anvil
from framemesh.chain.backend import Chain
from framemesh.chain.keys import create_keystore
from framemesh.net.server import free_port
from framemesh.protocol.network import Protocol
from tests.anvil_node import anvil_node
from tests.e2e.clips import PROFILES
from tests.e2e.nodes import NodeProcess

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    yield from anvil_node()


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "framemesh", *args], capture_output=True, text=True, timeout=300, cwd=cwd,
        env={**os.environ, "FRAMEMESH_KEYSTORE_PASSWORD": PASSWORD},
    )
    assert result.returncode == 0, f"framemesh {' '.join(args)}: {result.stderr[-2000:]}"
    return result


def node(cwd: Path, name: str, args: list[str], port: int | None = None) -> NodeProcess:
    os.environ["FRAMEMESH_KEYSTORE_PASSWORD"] = PASSWORD
    return NodeProcess(args, port or free_port(), cwd / f"{name}.log").wait_ready(60)


def test_network_of_processes_on_anvil(anvil: Anvil, tmp_path: Path, clip: Path) -> None:
    rpc = ["--rpc", anvil.url]
    deployment_file = tmp_path / "framemesh-data" / "deployment.json"
    deployment = ["--deployment", str(deployment_file)]
    cli(tmp_path, "chain", "deploy", "--round-length", "200", *rpc)
    keys, addresses = {}, {}
    for who in ("o1", "o2", "gw"):
        keys[who] = tmp_path / f"{who}.json"
        addresses[who] = create_keystore(keys[who], PASSWORD, kdf="pbkdf2", iterations=2).address
        cli(tmp_path, "chain", "fund", addresses[who], "--eth", "10 ETH", "--fmt", "2000 FMT", "--dev-account", "0", *rpc)
    started: list[NodeProcess] = []

    def start_orchestrator(name: str, port: int, redeem_interval: float) -> NodeProcess:
        proc = node(tmp_path, name, [
            "orchestrator", "start", "--name", name, "--capacity", "1", "--data-dir", str(tmp_path / name), *rpc,
            *deployment, "--keystore", str(keys[name]), "--register", "--stake", "1000 FMT", "--reward-cut", "10%",
            "--fee-share", "50%", "--price-per-pixel", "1000", "--ticket-face-value", "1000000000 wei",
            "--ticket-win-prob", "1/2", "--redeem-interval", str(redeem_interval),
        ], port)
        started.append(proc)
        return proc

    try:
        port1 = free_port()
        o1 = start_orchestrator("o1", port1, redeem_interval=3600)  # holds its winners: it will die first
        o2 = start_orchestrator("o2", free_port(), redeem_interval=0.5)
        chain = Chain.connect(anvil.url)
        proto = Protocol.load(chain, deployment_file)
        chain.mine(201)  # next round: both are active; their duty loops initialize it
        deadline = time.monotonic() + 30
        while not (proto.round_initialized() and proto.is_active(addresses["o1"]) and proto.is_active(addresses["o2"])):
            assert time.monotonic() < deadline, "orchestrators did not become active"
            time.sleep(0.2)
        cli(tmp_path, "deposit", "fund", "--deposit", "1 ETH", "--reserve", "0.5 ETH", "--keystore", str(keys["gw"]), *rpc)
        gw = node(tmp_path, "gw", ["gateway", "start", "--data-dir", str(tmp_path / "gw"), *rpc, *deployment, "--keystore", str(keys["gw"]), "--open"])
        started.append(gw)

        out = tmp_path / "ladder"
        result = cli(tmp_path, "transcode", str(clip), "--gateway", gw.url, "--out", str(out), "--profiles", PROFILES)
        assert "master playlist" in result.stdout and (out / "master.m3u8").is_file()
        m1 = httpx.get(f"{o1.url}/stats").json()
        won1 = m1["payments"]["tickets_won"]
        assert m1["segments_done"] >= 1 and won1 > 0 and m1["payments"]["tickets"]["pending"] == won1
        deadline = time.monotonic() + 60
        while httpx.get(f"{o2.url}/stats").json()["payments"]["tickets"]["pending"]:
            assert time.monotonic() < deadline, "o2 did not redeem its tickets"
            time.sleep(0.3)
        deposit = proto.sender_info(addresses["gw"]).deposit

        o1.kill()  # dies holding unredeemed winning tickets
        o1 = start_orchestrator("o1", port1, redeem_interval=0.5)
        deadline = time.monotonic() + 60
        while httpx.get(f"{o1.url}/stats").json()["payments"]["tickets"]["redeemed"] < won1:
            assert time.monotonic() < deadline, "the restarted orchestrator did not redeem its tickets"
            time.sleep(0.3)
        time.sleep(2)  # more passes of the redeemer must change nothing
        after = httpx.get(f"{o1.url}/stats").json()["payments"]["tickets"]
        assert after == {"pending": 0, "redeemed": won1, "expired": 0}
        assert proto.sender_info(addresses["gw"]).deposit == deposit - won1 * 10**9, "each winner paid exactly once"
        assert proto.pending_fees(addresses["o1"]) == won1 * 10**9, "into o1's fee pool (it is its only delegator)"
    finally:
        for proc in started:
            proc.stop()
