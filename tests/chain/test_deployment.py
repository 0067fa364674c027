"""Deploying a set of contracts in one call, and the deployment file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from framemesh.chain.backend import Chain
from framemesh.chain.compile import Artifact, compile_source
from framemesh.chain.deployment import Call, ContractSpec, Deployment, deploy_all
from framemesh.chain.errors import ContractRevert, DeploymentError
from framemesh.chain.keys import Signer

from .conftest import PROBE, ZERO

SPECS = [
    ContractSpec("First", PROBE, args=(1, ZERO)),
    ContractSpec("Second", PROBE, args=lambda a: (2, a["First"])),
]
WIRING = [Call("First", "set_peer", lambda a: (a["Second"],))]


@pytest.fixture
def artifacts() -> dict[str, Artifact]:
    return {name: compile_source(PROBE, name=name) for name in ("First", "Second")}


def test_deploy_all_deploys_in_order_and_wires(chain: Chain, deployer: Signer) -> None:
    start = chain.block_number
    deployment = deploy_all(chain, SPECS, deployer, wiring=WIRING)
    assert list(deployment.contracts) == ["First", "Second"]
    assert deployment.chain_id == chain.chain_id
    assert deployment.deployer == deployer.address
    assert deployment.block == start + 1
    first, second = chain.contract("First"), chain.contract("Second")
    assert first.address == deployment.address("First") != second.address
    # constructor args saw the earlier address; wiring saw the later one
    assert chain.call(second.functions.peer()) == first.address
    assert chain.call(first.functions.peer()) == second.address
    assert chain.call(second.functions.peer_value()) == 1
    # a node following events from the deployment block sees the wiring
    (linked,) = chain.events(first.events.PeerSet, from_block=deployment.block)
    assert linked["args"]["peer"] == second.address


def test_deployment_file_round_trip(chain: Chain, deployer: Signer, artifacts, tmp_path: Path) -> None:
    deployment = deploy_all(chain, SPECS, deployer, wiring=WIRING, artifacts=artifacts)
    path = deployment.save(tmp_path / "deploy" / "deployment.json")
    data = json.loads(path.read_text())
    assert data["chain_id"] == chain.chain_id
    assert data["contracts"]["Second"]["abi_hash"] == artifacts["Second"].abi_hash
    loaded = Deployment.load(path)
    assert loaded == deployment
    assert loaded.addresses == {"First": deployment.address("First"), "Second": deployment.address("Second")}
    # a node attaches with its own compiled artifacts and drives the contracts
    bound = loaded.attach(chain, artifacts)
    chain.transact(bound["Second"].functions.set_value(5), deployer)
    assert chain.call(chain.contract("First").functions.peer_value()) == 5


def test_attach_refuses_what_does_not_match(chain: Chain, deployer: Signer, artifacts) -> None:
    deployment = deploy_all(chain, SPECS, deployer, artifacts=artifacts)
    other_chain = dataclasses.replace(deployment, chain_id=deployment.chain_id + 1)
    with pytest.raises(DeploymentError, match="chain id"):
        other_chain.attach(chain, artifacts)
    changed = Artifact(
        "First", [*artifacts["First"].abi, {"type": "function", "name": "x", "inputs": [], "outputs": []}], "0x"
    )
    with pytest.raises(DeploymentError, match="First's ABI differs"):
        deployment.attach(chain, {**artifacts, "First": changed})
    with pytest.raises(DeploymentError, match="no compiled artifact for 'Second'"):
        deployment.attach(chain, {"First": artifacts["First"]})
    nowhere = dataclasses.replace(
        deployment, contracts={"First": dataclasses.replace(deployment.contracts["First"], address=ZERO)}
    )
    with pytest.raises(DeploymentError, match="no contract code"):
        nowhere.attach(chain, artifacts)
    with pytest.raises(DeploymentError, match="no contract 'Third'"):
        deployment.address("Third")


def test_attach_to_a_fresh_embedded_chain_finds_no_code(deployer: Signer, artifacts) -> None:
    chain = Chain.embedded()
    deployment = deploy_all(chain, SPECS, chain.accounts[0], artifacts=artifacts)
    with pytest.raises(DeploymentError, match="no contract code"):
        deployment.attach(Chain.embedded(), artifacts)


def test_failed_wiring_keeps_the_revert_reason(chain: Chain, deployer: Signer, artifacts) -> None:
    with pytest.raises(DeploymentError, match="wiring First.set_value failed.*unlucky number") as info:
        deploy_all(chain, SPECS, deployer, wiring=[Call("First", "set_value", (13,))], artifacts=artifacts)
    assert isinstance(info.value.__cause__, ContractRevert)
    assert info.value.__cause__.reason == "unlucky number"


def test_bad_specs_are_refused_with_the_step(chain: Chain, deployer: Signer, artifacts) -> None:
    backwards = [ContractSpec("First", PROBE, args=lambda a: (1, a["Second"])), SPECS[1]]
    with pytest.raises(DeploymentError, match="constructor args of First refer to 'Second'"):
        deploy_all(chain, backwards, deployer, artifacts=artifacts)
    with pytest.raises(DeploymentError, match="unique"):
        deploy_all(chain, [SPECS[0], SPECS[0]], deployer, artifacts=artifacts)
    with pytest.raises(DeploymentError, match="wiring First.no_such_function"):
        deploy_all(chain, SPECS, deployer, wiring=[Call("First", "no_such_function")], artifacts=artifacts)
    with pytest.raises(DeploymentError, match="'Third' is not in this deployment"):
        deploy_all(chain, SPECS, deployer, wiring=[Call("Third", "set_value", (1,))], artifacts=artifacts)
    with pytest.raises(DeploymentError, match="constructor args of First do not fit.*argument count"):
        deploy_all(chain, [ContractSpec("First", PROBE, args=(1,))], deployer, artifacts=artifacts)
    with pytest.raises(DeploymentError, match="deploying First failed: .*reverted"):
        deploy_all(chain, [ContractSpec("First", PROBE, args=(1, ZERO), value=1)], deployer, artifacts=artifacts)


def test_loading_bad_deployment_files(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="no deployment file"):
        Deployment.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(DeploymentError, match="not a readable deployment file"):
        Deployment.load(bad)
    bad.write_text("[]")
    with pytest.raises(DeploymentError, match="not a JSON object"):
        Deployment.load(bad)
    bad.write_text(json.dumps({"format": 99}))
    with pytest.raises(DeploymentError, match="unsupported deployment file format 99"):
        Deployment.load(bad)
    bad.write_text(json.dumps({"format": 1, "chain_id": 1, "deployer": ZERO, "block": 1}))
    with pytest.raises(DeploymentError, match="malformed deployment.*contracts"):
        Deployment.load(bad)


def test_deploy_for_an_older_evm(chain: Chain, deployer: Signer) -> None:
    """A chain without the compiler's default fork (here: before PUSH0) gets code compiled for its own."""
    deployment = deploy_all(chain, SPECS, deployer, wiring=WIRING, evm_version="paris")
    paris = compile_source(PROBE, name="Second", evm_version="paris")
    assert paris.bytecode != compile_source(PROBE, name="Second").bytecode
    assert chain.call(chain.contract("Second").functions.peer_value()) == 1
    assert deployment.contracts["Second"].abi_hash == paris.abi_hash
