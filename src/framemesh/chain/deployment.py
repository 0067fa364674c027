"""Deploy a set of contracts in one call, and the deployment file nodes load.

    specs = [
        ContractSpec("Token", CONTRACTS / "Token.vy"),
        ContractSpec("Minter", CONTRACTS / "Minter.vy", args=lambda a: (a["Token"], 500)),
    ]
    wiring = [Call("Token", "setMinter", lambda a: (a["Minter"],))]
    deployment = deploy_all(chain, specs, sender, wiring=wiring)
    deployment.save("deployment.json")
    ...
    contracts = Deployment.load("deployment.json").attach(chain, artifacts)

A `Deployment` records the chain id, the deployer, the first block (where a node
starts following events), and for each contract its address and the sha256 of its
ABI, so a node refuses to drive a contract through an ABI that is not the deployed one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3.contract import Contract

from .backend import Chain
from .compile import Artifact, compile_source, compiler_version
from .errors import ChainError, DeploymentError
from .keys import Signer

FORMAT = 1

#: Constructor or call arguments: fixed, or computed from the addresses deployed so far.
Args = Sequence[Any] | Callable[[Mapping[str, str]], Sequence[Any]]


@dataclass(frozen=True)
class ContractSpec:
    """One contract to deploy: its name, its Vyper source and its constructor args."""

    name: str
    source: str | os.PathLike[str]
    args: Args = ()
    value: int = 0


@dataclass(frozen=True)
class Call:
    """A post-deploy wiring call: ``contract.function(*args)`` sent by the deployer."""

    contract: str
    function: str
    args: Args = ()


@dataclass(frozen=True)
class DeployedContract:
    address: str
    abi_hash: str


@dataclass(frozen=True)
class Deployment:
    """Where a set of contracts lives on one chain."""

    chain_id: int
    contracts: dict[str, DeployedContract]
    deployer: str
    block: int
    compiler: str = field(default_factory=compiler_version)

    def address(self, name: str) -> str:
        try:
            return self.contracts[name].address
        except KeyError:
            raise DeploymentError(
                f"no contract {name!r} in this deployment (has: {', '.join(self.contracts)})"
            ) from None

    @property
    def addresses(self) -> dict[str, str]:
        return {name: c.address for name, c in self.contracts.items()}

    def attach(self, chain: Chain, artifacts: Mapping[str, Artifact]) -> dict[str, Contract]:
        """Bind this deployment's contracts on `chain` with our `artifacts`' ABIs.

        Checks that the chain is the one deployed to, that code is there, and that
        each ABI hashes as deployed.  The contracts become ``chain.contract(name)``.
        """
        if chain.chain_id != self.chain_id:
            raise DeploymentError(f"deployment is for chain id {self.chain_id}, but the chain has id {chain.chain_id}")
        bound: dict[str, Contract] = {}
        for name, deployed in self.contracts.items():
            artifact = artifacts.get(name)
            if artifact is None:
                raise DeploymentError(f"no compiled artifact for {name!r} to attach the deployment with")
            if artifact.abi_hash != deployed.abi_hash:
                raise DeploymentError(
                    f"{name}'s ABI differs from the deployed one (ours {artifact.abi_hash[:12]}, deployed"
                    f" {deployed.abi_hash[:12]}): redeploy, or use the framemesh version that deployed it"
                )
            if not chain.has_code(deployed.address):
                raise DeploymentError(
                    f"no contract code at {name}'s address {deployed.address} on chain {chain.chain_id}"
                )
            bound[name] = chain.register(name, deployed.address, artifact.abi)
        return bound

    # -- file --------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "chain_id": self.chain_id,
            "deployer": self.deployer,
            "block": self.block,
            "compiler": self.compiler,
            "contracts": {n: {"address": c.address, "abi_hash": c.abi_hash} for n, c in self.contracts.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        try:
            if data.get("format") != FORMAT:
                raise DeploymentError(f"unsupported deployment file format {data.get('format')!r} (expected {FORMAT})")
            contracts = {
                str(name): DeployedContract(address=str(c["address"]), abi_hash=str(c["abi_hash"]))
                for name, c in data["contracts"].items()
            }
            return cls(
                chain_id=int(data["chain_id"]),
                contracts=contracts,
                deployer=str(data["deployer"]),
                block=int(data["block"]),
                compiler=str(data.get("compiler", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DeploymentError(f"malformed deployment: {type(exc).__name__}: {exc}") from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the deployment file atomically (readers never see half a file)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(self.to_json(), f, indent=2)
            f.write("\n")
        os.replace(tmp, target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Deployment:
        source = Path(path)
        try:
            data = json.loads(source.read_text())
        except FileNotFoundError:
            raise DeploymentError(f"no deployment file at {source}: deploy first (framemesh chain deploy)") from None
        except (OSError, ValueError) as exc:
            raise DeploymentError(f"{source} is not a readable deployment file ({exc})") from None
        if not isinstance(data, dict):
            raise DeploymentError(f"{source} is not a deployment file (not a JSON object)")
        return cls.from_json(data)


def deploy_all(
    chain: Chain,
    specs: Sequence[ContractSpec],
    sender: Signer,
    *,
    wiring: Sequence[Call] = (),
    artifacts: Mapping[str, Artifact] | None = None,
    evm_version: str | None = None,
) -> Deployment:
    """Compile (cached) and deploy `specs` in order, then send the `wiring` calls.

    A spec's ``args`` may be a function of the addresses deployed before it.
    `artifacts` (name -> artifact) skips compiling those; `evm_version` (e.g.
    ``"cancun"`` for a chain without Prague) is passed to the compiler.  Any failure raises
    `DeploymentError` naming the step; a revert keeps its reason in the message.
    """
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise DeploymentError(f"contract names must be unique: {names}")
    given = artifacts or {}
    compiled = {
        s.name: given.get(s.name) or compile_source(s.source, name=s.name, evm_version=evm_version) for s in specs
    }
    addresses: dict[str, str] = {}
    first_block: int | None = None
    for spec in specs:
        args = _resolve(spec.args, addresses, f"constructor args of {spec.name}")
        try:
            contract = chain.deploy(compiled[spec.name], *args, sender=sender, value=spec.value)
        except ChainError as exc:
            raise DeploymentError(f"deploying {spec.name} failed: {exc}") from exc
        except (TypeError, ValueError) as exc:  # web3's argument checks
            raise DeploymentError(f"constructor args of {spec.name} do not fit its constructor: {exc}") from exc
        addresses[spec.name] = contract.address
        if first_block is None:
            first_block = chain.block_number
    for call in wiring:
        _wire(chain, call, addresses, sender)
    return Deployment(
        chain_id=chain.chain_id,
        contracts={n: DeployedContract(addresses[n], compiled[n].abi_hash) for n in names},
        deployer=sender.address,
        block=first_block if first_block is not None else chain.block_number,
        compiler=compiler_version(),
    )


def _wire(chain: Chain, call: Call, addresses: Mapping[str, str], sender: Signer) -> None:
    step = f"wiring {call.contract}.{call.function}"
    if call.contract not in addresses:
        raise DeploymentError(f"{step}: {call.contract!r} is not in this deployment")
    args = _resolve(call.args, addresses, step)
    contract = chain.contract(call.contract)
    try:
        fn = contract.functions[call.function](*args)  # resolves overloads by the args
    except (ValueError, TypeError, AttributeError) as exc:
        raise DeploymentError(f"{step}: {exc}") from None
    try:
        chain.transact(fn, sender)
    except ChainError as exc:
        raise DeploymentError(f"{step} failed: {exc}") from exc


def _resolve(args: Args, addresses: Mapping[str, str], what: str) -> Sequence[Any]:
    if not callable(args):
        return tuple(args)
    try:
        return tuple(args(dict(addresses)))
    except KeyError as exc:
        raise DeploymentError(f"{what} refer to {exc.args[0]!r}, which is not deployed before it") from None
