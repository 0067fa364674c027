"""The gateway's refresh of its orchestrators: who the chain lists, and what each says
at /info. An orchestrator that left the active set stays out, even while its /info
still answers and its last segment is still in flight."""

from __future__ import annotations

from pathlib import Path

from framemesh.chain.keys import Signer
from framemesh.gateway.app import Gateway
from framemesh.gateway.config import GatewayConfig
from framemesh.net.server import ServerThread
from framemesh.orchestrator.app import create_app as create_orchestrator
from framemesh.orchestrator.config import OrchestratorConfig


class ActiveSet:
    """The three chain reads discovery makes, with an active set the test changes."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls

    def active_set(self) -> list[str]:
        return list(self.urls)

    def service_uri(self, address: str) -> str:
        return self.urls[address]

    def total_stake(self, address: str) -> int:
        return 1000


async def test_an_orchestrator_that_left_the_active_set_stays_out_after_a_refresh(tmp_path: Path) -> None:
    orch = ServerThread(create_orchestrator(OrchestratorConfig(data_dir=tmp_path / "o1", name="o1"))).start()
    chain = ActiveSet({"0x" + "11" * 20: orch.url})
    config = GatewayConfig(data_dir=tmp_path / "gw", discovery_interval=0.0, verify_workers=1)
    gateway = Gateway(config, protocol=chain, signer=Signer.dev("0x" + "22" * 20))
    try:
        await gateway.refresh_orchestrators()
        member = gateway.pool.members[orch.url]
        assert member.known and member.refused is None
        assert gateway.pool.acquire(0.0) == orch.url  # a segment in flight

        chain.urls.clear()  # it leaves the active set
        await gateway.refresh_orchestrators()  # discovery, then /info of every member
        assert member.refused == "no longer in the active set"
        gateway.pool.release(orch.url)
        assert gateway.pool.acquire(0.0) is None, "it got new work after leaving the active set"

        chain.urls["0x" + "11" * 20] = orch.url  # back in the next round
        await gateway.refresh_orchestrators()
        assert gateway.pool.members[orch.url].refused is None
        assert gateway.pool.acquire(0.0) == orch.url
    finally:
        await gateway.http.aclose()
        gateway.executor.shutdown()
        gateway.database.close()
        orch.stop()
