"""The index's seeded network (tests/explorer/index_seed.py: orchestrators A and B,
delegator D, gateway G, five rounds with reward calls made and missed, a cut change and
redeemed tickets), indexed, with the orchestrators' service URIs on loopback where
nothing listens (so their /info is "—" at once, not a DNS wait)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from framemesh.chain.backend import Chain
from framemesh.chain.keys import Signer
from framemesh.explorer.index import Indexer
from framemesh.protocol.network import Protocol
from tests.explorer.index_seed import Seeded
from tests.explorer.index_seed import seed as seed_history

URIS = ("http://127.0.0.1:9/a", "http://127.0.0.1:9/b")


@dataclass
class WebNetwork:
    seeded: Seeded
    db: Path

    @property
    def chain(self) -> Chain:
        return self.seeded.chain

    @property
    def protocol(self) -> Protocol:
        return self.seeded.protocol

    @property
    def deployer(self) -> Signer:
        return self.seeded.deployer

    @property
    def orchestrators(self) -> list[Signer]:
        return [self.seeded.a, self.seeded.b]

    @property
    def delegator(self) -> Signer:
        return self.seeded.d

    @property
    def gateway(self) -> Signer:
        return self.seeded.g

    def index(self, to_block: int | None = None) -> int:
        indexer = Indexer(self.protocol, self.db)
        try:
            return indexer.sync(to_block)
        finally:
            indexer.close()

    def next_round(self) -> None:
        """Into the next round, where A calls reward and B does not."""
        self.protocol.advance_rounds(self.deployer, 1)
        self.protocol.reward(self.seeded.a)


def seed(root: Path) -> WebNetwork:
    seeded = seed_history()
    for who, uri in zip((seeded.a, seeded.b), URIS):
        seeded.protocol.set_service_uri(who, uri)
    net = WebNetwork(seeded, root / "explorer.sqlite")
    net.index()
    return net
