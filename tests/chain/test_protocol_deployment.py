"""deploy_protocol: constructors filled by parameter name, dependency order, setter
wiring.  Runs on protocol-shaped stand-in contracts (tests/chain/contracts/
protocol_like), and on the real protocol contracts once they exist."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from framemesh.chain.backend import Chain
from framemesh.chain.compile import compile_source
from framemesh.chain.deployment import Call, Deployment
from framemesh.chain.errors import DeploymentError
from framemesh.chain.keys import Signer
from framemesh.chain.protocol_deployment import (
    CONTRACTS_DIR,
    PROTOCOL_CONTRACTS,
    ProtocolParams,
    _norm,
    deploy_protocol,
)

from .conftest import CONTRACTS

LIKE = CONTRACTS / "protocol_like"


def test_parameter_names_normalise() -> None:
    assert _norm("_rounds_manager") == _norm("roundsManager") == _norm("RoundsManager") == "roundsmanager"


def test_deploys_wires_and_reorders(chain: Chain, deployer: Signer, tmp_path: Path) -> None:
    params = ProtocolParams(round_length=7, unbonding_period=3, num_active_transcoders=5, initial_supply=123)
    extra = [Call("ServiceRegistry", "setServiceURI", ("https://orch.example:8935",))]
    deployment = deploy_protocol(chain, params, sender=deployer, contracts_dir=LIKE, calls=extra)
    # BondingManager's constructor takes the Minter, so the Minter is deployed first
    assert list(deployment.contracts) == [
        "Token",
        "RoundsManager",
        "Minter",
        "BondingManager",
        "TicketBroker",
        "ServiceRegistry",
    ]
    c = {name: chain.contract(name) for name in deployment.contracts}
    a = deployment.addresses
    assert chain.call(c["Token"].functions.symbol()) == "FMT"
    assert chain.call(c["Token"].functions.balanceOf(deployer.address)) == 123
    assert chain.call(c["RoundsManager"].functions.roundLength()) == 7
    assert chain.call(c["RoundsManager"].functions.roundLockAmount()) == 100_000
    assert chain.call(c["Minter"].functions.token()) == a["Token"]
    assert chain.call(c["Minter"].functions.targetBondingRate()) == 500_000_000
    assert chain.call(c["Minter"].functions.inflationChange()) == 500
    assert chain.call(c["Minter"].functions.controller()) == deployer.address
    assert chain.call(c["BondingManager"].functions.minter()) == a["Minter"]
    assert chain.call(c["BondingManager"].functions.unbonding_period()) == 3
    assert chain.call(c["BondingManager"].functions.num_active_transcoders()) == 5
    assert chain.call(c["TicketBroker"].functions.bondingManager()) == a["BondingManager"]
    assert chain.call(c["TicketBroker"].functions.ticketValidityPeriod()) == 2
    assert chain.call(c["ServiceRegistry"].functions.governor()) == deployer.address
    # setters named after a contract were called after deployment
    assert chain.call(c["Token"].functions.minter()) == a["Minter"]
    assert chain.call(c["Minter"].functions.bondingManager()) == a["BondingManager"]
    # extra calls ran after the wiring, from the deployer
    uri = c["ServiceRegistry"].functions.getServiceURI(deployer.address)
    assert chain.call(uri) == "https://orch.example:8935"
    # and the deployment file round-trips for nodes
    path = deployment.save(tmp_path / "deployment.json")
    assert deployment.__class__.load(path) == deployment


def test_overrides_and_unknown_parameters(chain: Chain, deployer: Signer, tmp_path: Path) -> None:
    folder = tmp_path / "contracts"
    shutil.copytree(LIKE, folder)
    (folder / "ServiceRegistry.vy").write_text(
        "# pragma version ~=0.4.3\nfee: public(uint256)\n\n@deploy\ndef __init__(_mysteryFee: uint256):\n    self.fee = _mysteryFee\n"
    )
    with pytest.raises(DeploymentError, match="ServiceRegistry's constructor parameter '_mysteryFee'.*overrides"):
        deploy_protocol(chain, sender=deployer, contracts_dir=folder)
    deployment = deploy_protocol(
        chain, sender=deployer, contracts_dir=folder, overrides={"ServiceRegistry": {"mystery_fee": 9}}
    )
    assert chain.call(chain.contract("ServiceRegistry").functions.fee()) == 9
    assert deployment.address("ServiceRegistry")
    with pytest.raises(DeploymentError, match="unknown contracts: Nope"):
        deploy_protocol(chain, sender=deployer, contracts_dir=folder, overrides={"Nope": {}})


def test_constructor_cycle_is_refused(chain: Chain, deployer: Signer, tmp_path: Path) -> None:
    folder = tmp_path / "cycle"
    folder.mkdir()
    for me, other in (("Token", "minter"), ("Minter", "token")):
        (folder / f"{me}.vy").write_text(
            f"# pragma version ~=0.4.3\nx: public(address)\n\n@deploy\ndef __init__(_{other}: address):\n    self.x = _{other}\n"
        )
    with pytest.raises(DeploymentError, match="cycle.*Token needs Minter.*setter"):
        deploy_protocol(chain, sender=deployer, contracts_dir=folder, names=("Token", "Minter"))


def test_missing_sources_are_named(chain: Chain, deployer: Signer, tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="protocol sources missing.*Token.vy.*ServiceRegistry.vy"):
        deploy_protocol(chain, sender=deployer, contracts_dir=tmp_path)


def test_revert_during_protocol_deployment_names_the_contract(chain: Chain, deployer: Signer) -> None:
    with pytest.raises(DeploymentError, match="deploying RoundsManager failed.*round length must be positive"):
        deploy_protocol(chain, ProtocolParams(round_length=0), sender=deployer, contracts_dir=LIKE)


STANDALONE = ("Token", "RoundsManager", "ServiceRegistry")  # constructors that take no other contract


def test_every_protocol_contract_is_in_the_package() -> None:
    """The tests below use the real contracts: a missing or renamed one fails here, it is
    not skipped."""
    missing = [n for n in PROTOCOL_CONTRACTS if not (CONTRACTS_DIR / f"{n}.vy").is_file()]
    assert not missing, f"missing from {CONTRACTS_DIR}: {missing}"


def test_real_standalone_contracts_deploy(chain: Chain, deployer: Signer) -> None:
    params = ProtocolParams(round_length=5, initial_supply=10**24)
    deployment = deploy_protocol(chain, params, sender=deployer, names=STANDALONE)
    assert list(deployment.contracts) == list(STANDALONE)
    token, rounds = chain.contract("Token"), chain.contract("RoundsManager")
    assert chain.call(token.functions.symbol()) == "FMT"
    assert chain.call(token.functions.decimals()) == 18
    assert chain.call(token.functions.balanceOf(deployer.address)) == 10**24
    assert chain.call(rounds.functions.roundLength()) == 5
    assert chain.call(rounds.functions.roundLockAmount()) == params.round_lock_amount


def test_real_protocol_deploys(chain: Chain, deployer: Signer, tmp_path: Path) -> None:
    """The protocol's own contracts deploy, wire together and start a round."""
    params = ProtocolParams(round_length=5)
    deployment = deploy_protocol(chain, params, sender=deployer)
    assert set(deployment.contracts) == set(PROTOCOL_CONTRACTS)
    assert all(chain.has_code(address) for address in deployment.addresses.values())
    c = {name: chain.contract(name) for name in deployment.contracts}
    a = deployment.addresses
    # constructor arguments
    assert chain.call(c["Minter"].functions.token()) == a["Token"]
    assert chain.call(c["RoundsManager"].functions.roundLength()) == 5
    # setters called by the wiring
    assert chain.call(c["Token"].functions.minter()) == a["Minter"]
    for owner, getter, target in (
        ("RoundsManager", "bondingManager", "BondingManager"),
        ("RoundsManager", "minter", "Minter"),
        ("BondingManager", "minter", "Minter"),
        ("BondingManager", "ticketBroker", "TicketBroker"),
    ):
        assert getter in _functions(c[owner]), f"{owner} has no {getter}() getter"
        assert chain.call(c[owner].functions[getter]()) == a[target], f"{owner}.{getter}"
    # time moves on a dev chain, and the wired contracts start the next round together
    chain.mine(params.round_length)
    receipt = chain.transact(c["RoundsManager"].functions.initializeRound(), deployer)
    assert receipt.gas_used > 21_000
    assert chain.call(c["RoundsManager"].functions.currentRoundInitialized())
    # nodes load the file and attach with their own compiled artifacts
    loaded = Deployment.load(deployment.save(tmp_path / "deployment.json"))
    artifacts = {n: compile_source(CONTRACTS_DIR / f"{n}.vy") for n in PROTOCOL_CONTRACTS}
    assert set(loaded.attach(chain, artifacts)) == set(PROTOCOL_CONTRACTS)


def _functions(contract: Any) -> set[str]:
    return {item["name"] for item in contract.abi if item.get("type") == "function"}
