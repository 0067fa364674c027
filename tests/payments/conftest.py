"""A protocol deployed on the embedded chain with one active orchestrator and a funded gateway."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from framemesh.chain.backend import Chain
from framemesh.chain.keys import Signer
from framemesh.chain.protocol_deployment import ProtocolParams
from framemesh.protocol.network import Protocol

FMT = ETH = 10**18


@dataclass
class World:
    chain: Chain
    deployer: Signer
    protocol: Protocol
    orchestrator: Signer
    gateway: Signer


def make_world(round_length: int = 50, chain: Chain | None = None) -> World:
    chain = chain or Chain.embedded()
    deployer = chain.accounts[0]
    proto = Protocol.deploy(chain, ProtocolParams(round_length=round_length), sender=deployer)
    orch = Signer.from_key(b"\x41" * 32)
    gateway = Signer.from_key(b"\x42" * 32)
    for who in (orch, gateway):
        chain.send_eth(who.address, 100 * ETH, deployer)
    proto.transfer_tokens(deployer, orch.address, 1000 * FMT)
    proto.advance_rounds(deployer)
    proto.become_orchestrator(orch, stake=1000 * FMT, reward_cut=100_000, fee_share=250_000, service_uri="http://o")
    proto.advance_rounds(deployer)
    proto.fund_deposit_and_reserve(gateway, 50 * ETH, 10 * ETH)
    return World(chain, deployer, proto, orch, gateway)


@pytest.fixture(scope="module")
def world() -> World:
    return make_world()
