"""A small seeded network on the embedded chain for the explorer's page tests: three
orchestrators (one misses its reward calls, one changes its cut), a delegator, a funded
gateway, a few rounds; and an index of it. Made once per module: it takes seconds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from framemesh.chain.backend import Chain
from framemesh.chain.keys import Signer
from framemesh.chain.protocol_deployment import ProtocolParams
from framemesh.explorer.index import Indexer
from framemesh.protocol.network import Protocol

FMT = ETH = 10**18
STAKES = (3000 * FMT, 2000 * FMT, 1000 * FMT)
CUTS = ((100_000, 500_000), (200_000, 250_000), (50_000, 900_000))
DELEGATION = 500 * FMT


@dataclass
class WebNetwork:
    chain: Chain
    protocol: Protocol
    deployer: Signer
    orchestrators: list[Signer]
    delegator: Signer
    gateway: Signer
    db: Path

    def index(self, to_block: int | None = None) -> int:
        indexer = Indexer(self.protocol, self.db)
        try:
            return indexer.sync(to_block)
        finally:
            indexer.close()

    def next_round(self, *, rewards: bool = True) -> None:
        """Into the next round; every orchestrator but the last calls reward."""
        self.protocol.advance_rounds(self.deployer, 1)
        if rewards:
            for who in self.orchestrators[:-1]:
                if self.protocol.is_active(who.address):
                    self.protocol.reward(who)


def seed(root: Path, rounds: int = 3) -> WebNetwork:
    chain = Chain.embedded()
    deployer = chain.accounts[0]
    protocol = Protocol.deploy(chain, ProtocolParams(round_length=100), sender=deployer)
    if not protocol.round_initialized():
        protocol.initialize_round(deployer)
    orchestrators = [Signer.from_key((0xE0000 + i).to_bytes(32, "big")) for i in range(1, 4)]
    delegator = Signer.from_key((0xE0100).to_bytes(32, "big"))
    gateway = Signer.from_key((0xE0101).to_bytes(32, "big"))
    for who in [*orchestrators, delegator, gateway]:
        chain.send_eth(who.address, 20 * ETH, deployer)
    for i, who in enumerate(orchestrators):
        protocol.transfer_tokens(deployer, who.address, STAKES[i])
        protocol.become_orchestrator(who, stake=STAKES[i], reward_cut=CUTS[i][0], fee_share=CUTS[i][1],
                                     service_uri=f"http://127.0.0.1:9/o{i + 1}")  # nothing listens: "—"
    protocol.transfer_tokens(deployer, delegator.address, DELEGATION)
    protocol.bond(delegator, DELEGATION, orchestrators[0].address)
    protocol.fund_deposit_and_reserve(gateway, 2 * ETH, 1 * ETH)
    net = WebNetwork(chain, protocol, deployer, orchestrators, delegator, gateway, root / "explorer.sqlite")
    for n in range(rounds):
        net.next_round()
        if n == 0:  # the second orchestrator changes its cut once it has called reward
            protocol.register(orchestrators[1], 300_000, 250_000)
    net.index()
    return net
