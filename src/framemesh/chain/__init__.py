"""How framemesh reaches a chain: one `Chain` interface, an embedded py-evm backend and
a JSON-RPC backend, Vyper compilation with a cache, deployments, keys and amounts.

    from framemesh.chain import Chain, compile_source

    chain = Chain.embedded()                      # or Chain.connect("http://127.0.0.1:8545")
    deployer = chain.accounts[0]                  # dev chains only; else load_keystore(...)
    probe = chain.deploy(compile_source("Probe.vy"), 1, ZERO, sender=deployer)
    receipt = chain.transact(probe.functions.set_value(5), deployer)

Names are imported lazily, so ``framemesh.chain.units`` and ``.errors`` stay cheap to
import for code that does not talk to a chain.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Chain": "backend",
    "Receipt": "backend",
    "EMBEDDED": "backend",
    "Artifact": "compile",
    "compile_source": "compile",
    "compile_all": "compile",
    "Deployment": "deployment",
    "DeployedContract": "deployment",
    "ContractSpec": "deployment",
    "Call": "deployment",
    "deploy_all": "deployment",
    "deploy_protocol": "protocol_deployment",
    "ProtocolParams": "protocol_deployment",
    "Signer": "keys",
    "create_keystore": "keys",
    "load_keystore": "keys",
    "DEV_CHAIN_IDS": "keys",
    "Anvil": "anvil",
    "ServedChain": "local",
    "find_anvil": "anvil",
    "parse_amount": "units",
    "format_amount": "units",
    "ChainError": "errors",
    "ContractRevert": "errors",
    "ChainUnavailable": "errors",
    "DevChainOnly": "errors",
    "KeystoreError": "errors",
    "CompileError": "errors",
    "DeploymentError": "errors",
    "AnvilNotFound": "errors",
}

__all__ = [
    "AnvilNotFound",
    "DEV_CHAIN_IDS",
    "EMBEDDED",
    "Anvil",
    "Artifact",
    "Call",
    "Chain",
    "ChainError",
    "ChainUnavailable",
    "CompileError",
    "ContractRevert",
    "ContractSpec",
    "DeployedContract",
    "Deployment",
    "DeploymentError",
    "DevChainOnly",
    "KeystoreError",
    "ProtocolParams",
    "Receipt",
    "ServedChain",
    "Signer",
    "compile_all",
    "compile_source",
    "create_keystore",
    "deploy_all",
    "deploy_protocol",
    "find_anvil",
    "format_amount",
    "load_keystore",
    "parse_amount",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'framemesh.chain' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover
    from .anvil import Anvil, find_anvil
    from .backend import EMBEDDED, Chain, Receipt
    from .compile import Artifact, compile_all, compile_source
    from .deployment import Call, ContractSpec, DeployedContract, Deployment, deploy_all
    from .errors import (
        AnvilNotFound,
        ChainError,
        ChainUnavailable,
        CompileError,
        ContractRevert,
        DeploymentError,
        DevChainOnly,
        KeystoreError,
    )
    from .keys import DEV_CHAIN_IDS, Signer, create_keystore, load_keystore
    from .local import ServedChain
    from .protocol_deployment import ProtocolParams, deploy_protocol
    from .units import format_amount, parse_amount
