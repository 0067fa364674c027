"""The on-chain commands, each its own process, against a real anvil node."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from framemesh.chain.anvil import Anvil
from tests.anvil_node import anvil_node
from tests.cli.test_cli import framemesh

ORCH = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's dev account 0


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    yield from anvil_node()


def run(anvil: Anvil, cwd: Path, *args: str):  # type: ignore[no-untyped-def]
    return framemesh(*args, "--rpc", anvil.url, cwd=cwd)


def test_deploy_register_bond_fund_and_status(anvil: Anvil, tmp_path: Path) -> None:
    deployed = run(anvil, tmp_path, "chain", "deploy", "--round-length", "10")
    assert deployed.returncode == 0, deployed.stderr
    assert (tmp_path / "framemesh-data" / "deployment.json").is_file()
    again = run(anvil, tmp_path, "chain", "deploy")
    assert again.returncode == 1 and "--force" in again.stderr

    reg = run(anvil, tmp_path, "orchestrator", "register", "--reward-cut", "10%", "--fee-share", "50%",
              "--service-uri", "http://127.0.0.1:8935", "--stake", "1000 FMT", "--dev-account", "0")
    assert reg.returncode == 0, reg.stderr
    assert "reward cut 10%" in reg.stdout and "stake 1000 FMT" in reg.stdout

    bond = run(anvil, tmp_path, "stake", "bond", "500 FMT", "--to", ORCH, "--dev-account", "0")
    assert bond.returncode == 0, bond.stderr
    fund = run(anvil, tmp_path, "deposit", "fund", "--deposit", "1 ETH", "--reserve", "0.5 ETH", "--dev-account", "1")
    assert fund.returncode == 0 and "deposit 1 ETH, reserve 0.5 ETH" in fund.stdout

    status = run(anvil, tmp_path, "protocol", "status")
    assert status.returncode == 0, status.stderr
    assert ORCH in status.stdout and "1500 FMT" in status.stdout and "http://127.0.0.1:8935" in status.stdout
    assert "target 50%" in status.stdout


def test_errors_are_one_line_words(anvil: Anvil, tmp_path: Path) -> None:
    assert run(anvil, tmp_path, "chain", "deploy").returncode == 0
    broke = run(anvil, tmp_path, "stake", "bond", "1 FMT", "--to", ORCH, "--dev-account", "5")
    assert broke.returncode == 1 and "insufficient balance" in broke.stderr
    bad_unit = run(anvil, tmp_path, "stake", "bond", "ten FMT", "--to", ORCH, "--dev-account", "0")
    assert bad_unit.returncode == 2 and "Traceback" not in bad_unit.stderr
    no_signer = run(anvil, tmp_path, "deposit", "unlock")
    assert no_signer.returncode == 1 and "--keystore" in no_signer.stderr
    early = run(anvil, tmp_path, "stake", "unbond", "1 FMT", "--dev-account", "3")
    assert early.returncode == 1 and "the chain refused" in early.stderr
    for result in (broke, bad_unit, no_signer, early):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_unreachable_chain(tmp_path: Path) -> None:
    result = framemesh("protocol", "status", "--rpc", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 1 and "127.0.0.1:9" in result.stderr and "Traceback" not in result.stderr
