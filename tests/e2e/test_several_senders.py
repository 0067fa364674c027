"""Several gateway processes on one PostgreSQL database pay the same orchestrators at
once, each as its own chain account: every ticket is accepted once, the winners are
redeemed from the right deposits, each orchestrator's count of what each account paid
is what that gateway says it sent; a second process with an account already in use on
the database is refused, and a crashed one restarted takes its account back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from framemesh.chain.keys import Signer, create_keystore
from framemesh.devnet import Devnet, DevnetConfig
from framemesh.net.server import free_port
from framemesh.payments.ticket_store import TicketState
from framemesh.sdk.client import GatewayClient
from tests.e2e.nodes import NodeProcess

PASSWORD = "several senders"
DEPOSIT, RESERVE = 10**18, 10**17


@dataclass
class Network:
    net: Devnet
    root: Path
    rpc: str
    deployment: Path
    database: str
    keys: list[Path]
    accounts: list[Signer]

    def gateway(self, name: str, account: int) -> NodeProcess:
        """`framemesh gateway start` as account `account`, on the shared database (not yet ready)."""
        return NodeProcess([
            "gateway", "start", "--data-dir", str(self.root / name), "--rpc", self.rpc, "--deployment", str(self.deployment),
            "--keystore", str(self.keys[account]), "--database", self.database, "--open", "--no-explorer",
        ], free_port(), self.root / f"{name}.log")


def _serve_chain(port: int) -> subprocess.Popen[bytes]:
    """`framemesh chain serve`: one embedded chain the gateway processes and the devnet share."""
    proc = subprocess.Popen([sys.executable, "-m", "framemesh", "chain", "serve", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.post(f"http://127.0.0.1:{port}", json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []})
            return proc
        except httpx.HTTPError:
            assert proc.poll() is None and time.monotonic() < deadline, "the chain did not start"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, postgres_server) -> Iterator[Network]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("senders")
    port = free_port()
    chain = _serve_chain(port)
    rpc = f"http://127.0.0.1:{port}"
    os.environ["FRAMEMESH_KEYSTORE_PASSWORD"] = PASSWORD  # the gateway processes read it
    try:
        with Devnet(DevnetConfig(root=root, rpc=rpc)) as net:
            deployment = root / "deployment.json"
            net.protocol.deployment.save(deployment)
            keys, accounts = [], []
            for i in range(2):  # each gateway process its own account, deposit and reserve
                keys.append(root / f"gateway-{i}.json")
                accounts.append(create_keystore(keys[-1], PASSWORD, kdf="pbkdf2", iterations=2))
                net.chain.send_eth(accounts[-1].address, 2 * 10**18, net.deployer)
                net.protocol.fund_deposit_and_reserve(accounts[-1], DEPOSIT, RESERVE)
            yield Network(net, root, rpc, deployment, postgres_server.fresh_url(), keys, accounts)
    finally:
        os.environ.pop("FRAMEMESH_KEYSTORE_PASSWORD", None)
        os.killpg(chain.pid, signal.SIGTERM)
        chain.wait(10)


@pytest.fixture(scope="module")
def gateways(network: Network) -> Iterator[list[NodeProcess]]:
    started = [network.gateway(f"gateway-{i}", i) for i in range(2)]  # start together, then wait
    try:
        yield [g.wait_ready(60) for g in started]
    finally:
        for g in started:
            g.stop()


async def _transcode_at_once(urls: list[str], clip: Path) -> list:  # type: ignore[type-arg]
    async def one(url: str):  # type: ignore[no-untyped-def]
        async with GatewayClient(url) as client:
            job = await client.submit(clip, "240p")
            return await client.wait(job.id, timeout=120)

    return list(await asyncio.gather(*(one(url) for url in urls)))


def test_two_gateways_pay_the_same_orchestrators_at_once(network: Network, gateways: list[NodeProcess], clip: Path) -> None:
    net = network.net
    billing = [node.server.app.state.orchestrator.billing for node in net.orchestrators]
    statuses = asyncio.run(_transcode_at_once([g.url for g in gateways], clip))
    for status in statuses:
        assert status.state == "completed", (status.error, status.errors)
    paid = [httpx.get(f"{g.url}/payments").json() for g in gateways]
    senders = [a.address for a in network.accounts]
    assert [p["address"] for p in paid] == senders and all(p["tickets_sent"] > 0 for p in paid)

    # No ticket refused, none a replay: each process's nonces on its own parameters. (A
    # try an orchestrator answered busy, the other gateway holding its slot, left its
    # tickets unread: sent, and credited nowhere.)
    assert sum((b.rejected for b in billing), Counter()) == Counter()
    received = sum(b.recipient.tickets_received for b in billing)
    delivered = sum(p["tickets_sent"] - p["tickets_unread"] for p in paid)
    timed_out = any(s.errors for s in statuses)  # a try that timed out may have left its payment unread
    assert received <= delivered if timed_out else received == delivered, ([s.errors for s in statuses], paid)
    # Each orchestrator credited each account what that gateway says it sent (to the wei it rounds to).
    for address, said in zip(senders, paid):
        credited = sum((b.recipient.received_by_sender.get(address, Fraction(0)) for b in billing), Fraction(0))
        assert credited > 0, f"{address} paid no orchestrator"
        if not timed_out:
            sent = int(said["expected_value_sent"]) - int(said["expected_value_unread"])
            assert abs(credited - sent) <= 1, (address, float(credited), said)
    assert all(b.recipient.received_by_sender.keys() <= set(senders) for b in billing)

    # The winners, redeemed on chain once each, from the deposit of the account that signed them.
    net.wait_redeemed(timeout=60)
    face = net.config.ticket_face_value
    assert all(b.store.counts()["pending"] == 0 for b in billing)
    proto = net.protocol
    redeemed = proto.chain.events(proto.broker.events.WinningTicketRedeemed)
    pairs = [(e["args"]["recipientRand"], e["args"]["senderNonce"], e["args"]["sender"]) for e in redeemed]
    won = Counter(sender for _, _, sender in pairs)
    assert len(pairs) == len(set(pairs)) == sum(b.recipient.tickets_won for b in billing) > 0, "every winner redeemed once"
    assert sum(b.store.total_face_value(TicketState.REDEEMED) for b in billing) == len(pairs) * face
    assert set(won) <= set(senders)
    for address in senders:
        assert proto.sender_info(address).deposit == DEPOSIT - won[address] * face
        transfers = proto.chain.events(proto.broker.events.WinningTicketTransfer, sender=address)
        assert sum(e["args"]["amount"] for e in transfers) == won[address] * face


def test_a_second_process_with_an_account_in_use_on_the_database_is_refused(network: Network, gateways: list[NodeProcess]) -> None:
    twin = network.gateway("twin", 0)  # the first gateway's account, the same database
    assert twin.proc.wait(60) != 0
    twin.stop()
    said = twin.log_path.read_text()
    assert network.accounts[0].address in said and "already signs tickets for another gateway process" in said
    assert "its own --keystore" in said and "framemesh deposit fund" in said
    assert httpx.get(f"{gateways[0].url}/healthz").status_code == 200, "the first one runs on"
