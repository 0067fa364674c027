"""Deploy the framemesh protocol (Token, RoundsManager, BondingManager, Minter,
TicketBroker, ServiceRegistry) in one call, wired together.

The contracts are read, not hard-coded: each constructor's parameters are filled **by
name** (``_token``, ``rounds_manager``, ``roundLength`` ... all normalise to the same
key) from the addresses of the other contracts, the deployer (governor/owner roles)
and `ProtocolParams`; contracts are deployed in an order where every constructor
only needs contracts already deployed; and then every one-address setter named after
another contract (``setMinter(address)``, ``set_bonding_manager(address)``) is called
with that contract's address.  A parameter no rule knows is an error that names it;
give it in ``overrides``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .backend import Chain
from .compile import Artifact, compile_source
from .deployment import Call, ContractSpec, Deployment, deploy_all
from .errors import DeploymentError
from .keys import Signer

#: the protocol's contracts in their natural order (dependencies first where possible)
PROTOCOL_CONTRACTS = ("Token", "RoundsManager", "BondingManager", "Minter", "TicketBroker", "ServiceRegistry")

#: the packaged Vyper sources
CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "protocol" / "contracts"

#: other spellings of a contract in constructor parameter names
_CONTRACT_ALIASES = {
    "token": "Token",
    "fmt": "Token",
    "roundsmanager": "RoundsManager",
    "rounds": "RoundsManager",
    "bondingmanager": "BondingManager",
    "bonding": "BondingManager",
    "minter": "Minter",
    "ticketbroker": "TicketBroker",
    "broker": "TicketBroker",
    "serviceregistry": "ServiceRegistry",
    "registry": "ServiceRegistry",
}

#: parameter names that mean "the deployer" (who governs a fresh deployment)
_DEPLOYER_ROLES = {"governor", "owner", "admin", "controller", "verifier", "deployer"}


@dataclass(frozen=True)
class ProtocolParams:
    """Protocol parameters, in Livepeer's fixed-point scales.

    Percentages over 1e6 (``round_lock_amount``); Minter rates over 1e9.  Defaults
    are mainnet-like except ``round_length``, which is short for a devnet.
    """

    round_length: int = 20  # blocks per round (Livepeer: 5760, now 6377)
    round_lock_amount: int = 100_000  # last 10% of a round is locked (over 1e6)
    unbonding_period: int = 7  # rounds
    num_active_transcoders: int = 100
    inflation: int = 137_000  # per round, over 1e9 (0.0137%)
    inflation_change: int = 500  # per round, over 1e9 (0.00005%)
    target_bonding_rate: int = 500_000_000  # over 1e9 (50%)
    unlock_period: int = 2  # rounds before a sender's deposit/reserve can be withdrawn
    ticket_validity_period: int = 2  # rounds
    initial_supply: int = 10_000_000 * 10**18  # minted to the deployer, if the Token takes it
    token_name: str = "framemesh Token"
    token_symbol: str = "FMT"
    token_decimals: int = 18

    def values(self) -> dict[str, Any]:
        """Normalised parameter name -> value, with common synonyms."""
        table = {_norm(k): v for k, v in asdict(self).items()}
        table.update(
            {
                "name": self.token_name,
                "symbol": self.token_symbol,
                "decimals": self.token_decimals,
                "numactive": self.num_active_transcoders,
                "maxactive": self.num_active_transcoders,
                "numactiveorchestrators": self.num_active_transcoders,
                "initialinflation": self.inflation,
                "supply": self.initial_supply,
                "roundlock": self.round_lock_amount,
                "validityperiod": self.ticket_validity_period,
            }
        )
        return table


def deploy_protocol(
    chain: Chain,
    params: ProtocolParams | None = None,
    *,
    sender: Signer | None = None,
    contracts_dir: str | os.PathLike[str] | None = None,
    names: tuple[str, ...] = PROTOCOL_CONTRACTS,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    evm_version: str | None = None,
    calls: Sequence[Call] = (),
) -> Deployment:
    """Compile, deploy and wire the protocol; returns its `Deployment`.

    `sender` defaults to the first dev account (dev chains only).  `overrides` maps a
    contract name to constructor parameters (by their exact or normalised name).
    """
    params = params or ProtocolParams()
    sender = sender or chain.accounts[0]
    folder = Path(contracts_dir) if contracts_dir else CONTRACTS_DIR
    missing = [n for n in names if not (folder / f"{n}.vy").is_file()]
    if missing:
        raise DeploymentError(f"protocol sources missing in {folder}: {', '.join(f'{n}.vy' for n in missing)}")
    artifacts = {n: compile_source(folder / f"{n}.vy", evm_version=evm_version) for n in names}
    plan = _ConstructorPlan(artifacts, params, sender, overrides or {})
    specs = [ContractSpec(n, folder / f"{n}.vy", args=plan.args_for(n)) for n in plan.order()]
    wiring = [*_setter_wiring(artifacts, plan), *calls]
    return deploy_all(chain, specs, sender, wiring=wiring, artifacts=artifacts)


class _ConstructorPlan:
    """Which constructor parameter gets which value, and the deploy order that follows."""

    def __init__(
        self,
        artifacts: Mapping[str, Artifact],
        params: ProtocolParams,
        sender: Signer,
        overrides: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self.artifacts = artifacts
        self.values = params.values()
        self.sender = sender
        self.overrides = {c: {_norm(k): v for k, v in o.items()} for c, o in overrides.items()}
        unknown = set(self.overrides) - set(artifacts)
        if unknown:
            raise DeploymentError(f"overrides for unknown contracts: {', '.join(sorted(unknown))}")

    def inputs(self, name: str) -> list[dict[str, Any]]:
        for item in self.artifacts[name].abi:
            if item.get("type") == "constructor":
                return list(item.get("inputs", []))
        return []

    def needs(self, name: str) -> list[str]:
        """The other contracts `name`'s constructor takes."""
        return [c for c in (self._contract_for(i, name) for i in self.inputs(name)) if c is not None]

    def order(self) -> list[str]:
        """Deploy order: the natural order, except that a contract waits for what its
        constructor needs.  A cycle is an error: break it with a setter."""
        done: list[str] = []
        pending = list(self.artifacts)
        while pending:
            ready = next((n for n in pending if all(d in done for d in self.needs(n))), None)
            if ready is None:
                cycle = ", ".join(f"{n} needs {'/'.join(self.needs(n))}" for n in pending)
                raise DeploymentError(
                    f"constructors depend on each other in a cycle ({cycle}): pass one of them through a setter"
                )
            done.append(ready)
            pending.remove(ready)
        return done

    def args_for(self, name: str) -> Any:
        inputs = self.inputs(name)

        def resolve(addresses: Mapping[str, str]) -> list[Any]:
            return [self._value(name, i, addresses) for i in inputs]

        return resolve

    def _contract_for(self, item: Mapping[str, Any], owner: str) -> str | None:
        if item.get("type") != "address" or _norm(item.get("name", "")) in self.overrides.get(owner, {}):
            return None
        target = _CONTRACT_ALIASES.get(_norm(item.get("name", "")))
        return target if target in self.artifacts and target != owner else None

    def _value(self, owner: str, item: Mapping[str, Any], addresses: Mapping[str, str]) -> Any:
        raw_name = str(item.get("name", ""))
        key = _norm(raw_name)
        if key in self.overrides.get(owner, {}):
            return self.overrides[owner][key]
        contract = self._contract_for(item, owner)
        if contract is not None:
            return addresses[contract]
        if item.get("type") == "address" and key in _DEPLOYER_ROLES:
            return self.sender.address
        if key in self.values:
            return self.values[key]
        raise DeploymentError(
            f"{owner}'s constructor parameter {raw_name!r} ({item.get('type')}) is not one deploy_protocol knows:"
            f" add it to ProtocolParams or pass overrides={{{owner!r}: {{{raw_name!r}: value}}}}"
        )


def _setter_wiring(artifacts: Mapping[str, Artifact], plan: _ConstructorPlan) -> list[Call]:
    """`setX(address)` on every contract, for every other contract X its constructor did not take."""
    calls: list[Call] = []
    for owner in plan.order():
        given = set(plan.needs(owner))
        for item in artifacts[owner].abi:
            if item.get("type") != "function" or item.get("stateMutability") in ("view", "pure", "payable"):
                continue
            inputs = item.get("inputs", [])
            if len(inputs) != 1 or inputs[0].get("type") != "address":
                continue
            key = _norm(item["name"])
            if not key.startswith("set"):
                continue
            target = _CONTRACT_ALIASES.get(key[3:])
            if target is not None and target in artifacts and target != owner and target not in given:
                calls.append(Call(owner, item["name"], _address_of(target)))
    return calls


def _address_of(target: str) -> Any:
    return lambda addresses: (addresses[target],)


def _norm(name: str) -> str:
    """``_rounds_manager``, ``roundsManager``, ``RoundsManager`` -> ``roundsmanager``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())
