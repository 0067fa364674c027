"""The network on the embedded chain: found on-chain, paid in tickets, fees and rewards shared."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from framemesh.devnet import Devnet, DevnetConfig
from framemesh.payments.ticket_store import TicketState
from framemesh.sdk.client import GatewayClient
from tests.e2e.clips import PROFILES


def test_paid_transcode_fees_and_rewards(tmp_path: Path, clip: Path) -> None:
    with Devnet(DevnetConfig(root=tmp_path, open_gateway=False, admin_token="adm-e2e")) as net:
        async def go():  # type: ignore[no-untyped-def]
            async with GatewayClient(net.gateway.url, token="adm-e2e") as admin:
                key = await admin.create_key("e2e", spend_limit="1 ETH/day")
            async with GatewayClient(net.gateway.url, token=key.key) as client:
                job = await client.submit(clip, PROFILES)
                return await client.wait(job.id, timeout=180), await client.usage()

        status, usage = asyncio.run(go())
        assert status.state == "completed", (status.error, status.errors)
        urls = {n.url for n in net.orchestrators}
        assert set(status.orchestrators) <= urls and sum(status.orchestrators.values()) == 3

        paid = httpx.get(f"{net.gateway.url}/payments", headers={"Authorization": "Bearer adm-e2e"}).json()
        assert paid["enabled"] and paid["tickets_sent"] > 0
        received = won = charged = 0
        for node in net.orchestrators:
            m = httpx.get(f"{node.url}/stats").json()
            received += m["payments"]["tickets_received"]
            won += m["payments"]["tickets_won"]
            charged += int(m["fees_charged_wei"])
            if status.orchestrators.get(node.url):
                assert int(m["fees_charged_wei"]) > 0
        assert received == paid["tickets_sent"], "every ticket sent was accepted"
        # the job was the key's: its usage is what the orchestrators charged, to the wei
        assert usage is not None and usage.usage is not None
        assert int(usage.usage.wei) == charged and usage.usage.by_kind == {"transcode": str(charged)}
        assert usage.usage.requests == 3 and usage.usage.units > 0
        assert won > 0  # about half of the dozen or so tickets

        net.wait_redeemed()
        proto = net.protocol
        o1, o2 = (n.signer.address for n in net.orchestrators)
        redeemed = 0
        for node in net.orchestrators:
            store = node.server.app.state.orchestrator.billing.store
            assert store.counts()["pending"] == 0
            redeemed += store.total_face_value(TicketState.REDEEMED)
        assert redeemed == won * net.config.ticket_face_value
        # fees went to the pools; the delegator of orchestrator 1 shares by its fee share (50%)
        fees = proto.pending_fees(o1) + proto.pending_fees(o2) + proto.pending_fees(net.delegator.address)
        assert fees == redeemed
        # orchestrator 1 passes 50% of its fees to its delegators pro rata by stake
        f1 = sum(e["args"]["amount"] for e in net.chain.events(proto.broker.events.WinningTicketTransfer) if e["args"]["recipient"] == o1)
        # (both orchestrators have one slot each, so both get segments, each paid with ~19 tickets)
        assert f1 > 0
        share = proto.pending_stake(net.delegator.address) / proto.total_stake(o1)
        expected = f1 * 0.5 * share
        assert abs(proto.pending_fees(net.delegator.address) - expected) <= 0.02 * expected + 2
        paid_out = proto.pending_fees(o1) + proto.pending_fees(net.delegator.address)
        assert f1 - 2 <= paid_out <= f1  # all of it, less rounding down (in wei)

        before = proto.total_supply()
        net.advance_rounds(2)
        assert proto.total_supply() > before, "active orchestrators called reward() in the new rounds"
        assert proto.pending_stake(net.delegator.address) > net.config.delegation
