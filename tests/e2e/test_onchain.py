"""The network on the embedded chain: found on-chain, paid in tickets, fees and rewards shared."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from framemesh.devnet import Devnet, DevnetConfig
from framemesh.payments.ticket_store import TicketState
from framemesh.sdk.client import GatewayClient
from tests.e2e.clips import PROFILES
from tests.e2e.scrape import id_like_labels, scrape


def test_paid_transcode_fees_and_rewards(tmp_path: Path, clip: Path) -> None:
    with Devnet(DevnetConfig(root=tmp_path, open_gateway=False, admin_token="adm-e2e")) as net:
        for node in net.orchestrators:  # each scrape reads the chain afresh (not up to 5 s old)
            node.server.app.state.orchestrator.metrics.chain.max_age = 0.0
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
        # Every ticket sent was accepted, unless a try failed (on a loaded machine a request
        # can time out with its payment unread): then no more than were sent.
        if status.errors:
            assert received <= paid["tickets_sent"], status.errors
        else:
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
        _metrics_after_the_job(net, status, paid, won, redeemed)
        # fees went to the pools; the delegator of orchestrator 1 shares by its fee share (50%)
        fees = proto.pending_fees(o1) + proto.pending_fees(o2) + proto.pending_fees(net.delegator.address)
        assert fees == redeemed
        # orchestrator 1 passes 50% of its fees to its delegators pro rata by stake
        f1 = sum(e["args"]["amount"] for e in net.chain.events(proto.broker.events.WinningTicketTransfer) if e["args"]["recipient"] == o1)
        # Both have one slot each, so both usually get segments (each paid with ~19 tickets);
        # on a loaded machine one can answer busy and the other take all three.
        f2 = sum(e["args"]["amount"] for e in net.chain.events(proto.broker.events.WinningTicketTransfer) if e["args"]["recipient"] == o2)
        assert f1 + f2 == redeemed
        if status.orchestrators.get(net.orchestrators[0].url):
            assert f1 > 0, "orchestrator 1 did segments: some of their tickets won"
        share = proto.pending_stake(net.delegator.address) / proto.total_stake(o1)
        expected = f1 * 0.5 * share
        assert abs(proto.pending_fees(net.delegator.address) - expected) <= 0.02 * expected + 2
        paid_out = proto.pending_fees(o1) + proto.pending_fees(net.delegator.address)
        assert f1 - 2 <= paid_out <= f1  # all of it, less rounding down (in wei)

        before = proto.total_supply()
        net.advance_rounds(2)
        assert proto.total_supply() > before, "active orchestrators called reward() in the new rounds"
        assert proto.pending_stake(net.delegator.address) > net.config.delegation
        for node in net.orchestrators:
            found = scrape(node.url)
            address = node.signer.address
            assert found.value("framemesh_current_round") == proto.current_round()
            assert found.value("framemesh_last_reward_round") == proto.terms(address)[2] == proto.current_round()
            assert found.value("framemesh_reward_calls_total", outcome="minted") >= 2
            assert found.value("framemesh_reward_minted_wei_total") > 0
            stake = found.value("framemesh_orchestrator_stake_wei")  # a float64, as every sample
            assert stake == pytest.approx(proto.total_stake(address), rel=1e-12)
            assert found.value("framemesh_orchestrator_active") == 1


def _metrics_after_the_job(net: Devnet, status, paid: dict, won: int, redeemed: int) -> None:  # type: ignore[no-untyped-def]
    """Both nodes' /metrics agree with the job, the payments and each other."""
    gateway = scrape(net.gateway.url, token="adm-e2e")
    nodes = {node.url: scrape(node.url) for node in net.orchestrators}
    types = {"framemesh_gateway_segment_tries": "counter", "framemesh_gateway_segment_round_trip_seconds": "histogram",
             "framemesh_gateway_deposit_wei": "gauge", "framemesh_tickets_sent": "counter"}
    assert {name: gateway.families[name].type for name in types} == types
    # every segment of the job: sent, delivered, timed, once each
    assert gateway.value("framemesh_gateway_segments_total", kind="vod", outcome="done") == 3
    assert gateway.value("framemesh_gateway_jobs_total", outcome="completed") == 1
    assert gateway.value("framemesh_gateway_segment_round_trip_seconds_count", kind="vod") == 3
    assert gateway.value("framemesh_gateway_segment_realtime_ratio_count", kind="vod") == 3
    assert gateway.value("framemesh_gateway_queue_wait_seconds_count") >= 3
    for url, found in nodes.items():
        done = status.orchestrators.get(url, 0)
        assert gateway.value("framemesh_gateway_segment_tries_total", orchestrator=url, outcome="ok") == done
        assert found.value("framemesh_orchestrator_segments_total", outcome="ok") == done
        assert found.value("framemesh_orchestrator_transcode_seconds_count") == done
    # tickets: what the gateway sent is what the orchestrators received, to the ticket and the wei
    received = sum(found.value("framemesh_tickets_received_total") for found in nodes.values())
    value_received = sum(found.value("framemesh_ticket_value_received_wei_total") for found in nodes.values())
    assert gateway.value("framemesh_tickets_sent_total") == paid["tickets_sent"]
    if status.errors:  # a failed try's payment may not have been read (see above)
        assert received <= paid["tickets_sent"]
        assert value_received <= gateway.value("framemesh_ticket_value_sent_wei_total") * (1 + 1e-9)
    else:
        assert received == paid["tickets_sent"]
        assert gateway.value("framemesh_ticket_value_sent_wei_total") == pytest.approx(value_received, rel=1e-9)
    assert gateway.value("framemesh_ticket_face_value_sent_wei_total") == int(paid["face_value_sent"])
    assert sum(found.value("framemesh_tickets_won_total") for found in nodes.values()) == won
    assert sum(found.value("framemesh_ticket_value_won_wei_total") for found in nodes.values()) == redeemed
    assert sum(found.value("framemesh_tickets_redeemed_total") for found in nodes.values()) == won
    assert sum(found.value("framemesh_ticket_value_redeemed_wei_total") for found in nodes.values()) == redeemed
    for url, found in nodes.items():
        assert found.value("framemesh_tickets_pending") == 0
        assert found.value("framemesh_ticket_face_value_wei") == net.config.ticket_face_value
        assert found.value("framemesh_ticket_win_probability") == pytest.approx(float(net.config.ticket_win_prob))
        assert gateway.value("framemesh_gateway_ticket_face_value_wei", orchestrator=url) == net.config.ticket_face_value
    # the chain, as the gateway read it (at most 5 s ago: its deposit pays the winners meanwhile)
    assert 0 < gateway.value("framemesh_gateway_deposit_wei") <= net.config.deposit
    assert gateway.value("framemesh_gateway_reserve_wei") == net.config.reserve
    assert 0 < gateway.value("framemesh_chain_head_block") <= net.protocol.block_number
    assert 0 < gateway.value("framemesh_current_round") <= net.protocol.current_round()
    # each orchestrator's score, as /scores gives it
    scores = httpx.get(f"{net.gateway.url}/scores", headers={"Authorization": "Bearer adm-e2e"}, timeout=10).json()
    by_url = {row["url"]: row["score"] for row in scores["orchestrators"] if row["kind"] == "transcode"}
    for url in nodes:
        expected = by_url.get(url)
        got = gateway.families["framemesh_gateway_orchestrator_score"].samples
        mine = [s.value for s in got if s.labels == {"orchestrator": url, "work": "transcode"}]
        assert mine == ([] if expected is None else [pytest.approx(expected, abs=1e-6)])
        if status.orchestrators.get(url, 0):
            assert mine and 0 < mine[0] <= 1
    # the explorer's index, once the explorer is opened: its progress on the gateway's /metrics
    assert httpx.get(f"{net.gateway.url}/explorer/", timeout=60).status_code == 200
    head = net.protocol.block_number
    deadline = time.monotonic() + 60
    while (indexed := scrape(net.gateway.url, token="adm-e2e").value("framemesh_explorer_indexed_block")) < head:
        assert time.monotonic() < deadline, f"the explorer's index stayed at block {indexed} (head {head})"
        time.sleep(0.5)
    # no label names a job, a stream or a key
    for found in (gateway, *nodes.values()):
        assert status.id not in found.text and id_like_labels(found) == [], id_like_labels(found)
