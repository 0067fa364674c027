"""The indexer on a real embedded chain: what it stores, resuming, batches, lag, re-orgs."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from framemesh.chain.backend import Chain
from framemesh.chain.protocol_deployment import ProtocolParams
from framemesh.chain.rpc_server import EmbeddedRpc, RpcError, RpcServer
from framemesh.explorer.index import ChainHistory, IndexMismatch, IndexNotFound, Indexer
from framemesh.explorer.index.errors import IndexConflict
from framemesh.explorer.index.store import Batch, BlockRow, IndexStore, NewEvent
from framemesh.protocol.network import Protocol
from tests.anvil_node import anvil_node
from tests.explorer.index_seed import Seeded, scratch, seed, shared


@pytest.fixture(scope="module")
def net() -> Seeded:
    return shared()


def indexed(net: Seeded, path: Path, batch_blocks: int = 2_000, to_block: int | None = None) -> Indexer:
    indexer = Indexer(net.protocol, path, batch_blocks=batch_blocks)
    indexer.sync(net.end_block if to_block is None else to_block)
    return indexer


def rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {
            "events": conn.execute("SELECT block, log_index, tx_hash, tx_from, contract, name, round, fields FROM events ORDER BY id").fetchall(),
            "rounds": conn.execute("SELECT * FROM rounds ORDER BY round").fetchall(),
            "addresses": conn.execute("SELECT a.address, e.block, e.log_index FROM event_addresses a JOIN events e ON e.id = a.event_id ORDER BY 1, 2, 3").fetchall(),
        }
    finally:
        conn.close()


def test_it_stores_the_protocol_events_with_rounds_and_senders(net: Seeded, tmp_path: Path) -> None:
    indexer = indexed(net, tmp_path / "x.sqlite")
    events = list(reversed(indexer.store.recent_events(1000)))
    names = [e.name for e in events]
    for name in ("NewRound", "SetCurrentRewardTokens", "SetCurrentRoundTotalActiveStake", "Bond", "Unbond", "Reward",
                 "Minted", "TranscoderUpdate", "TranscoderActivated", "ServiceURIUpdate", "DepositFunded",
                 "ReserveFunded", "WinningTicketRedeemed", "FeesCredited", "EarningsClaimed"):
        assert name in names, name
    assert "Transfer" not in names and "Approval" not in names  # the token's flood is left out
    assert names.count("Reward") == 7 and names.count("WinningTicketRedeemed") == 3
    assert indexer.store.meta().cursor == net.end_block
    # the round of each event is the contract's round at its block
    for e in events:
        if e.name == "FeesCredited":
            assert e.round == e.fields["round"]
        if e.name == "Reward":
            assert e.tx_from == e.fields["transcoder"]
    rewards_by_round = {}
    for e in events:
        if e.name == "Reward":
            rewards_by_round.setdefault(e.round, []).append(e.fields["transcoder"])
    r = net.rounds
    assert rewards_by_round[r["r2"]] == [net.a.address] and set(rewards_by_round[r["r3"]]) == {net.a.address, net.b.address}
    snapshots = {s.round: s for s in indexer.store.rounds()}
    assert set(snapshots) == set(net.rounds.values())
    assert all(s.initialized_by == net.deployer.address for s in snapshots.values())
    r5 = snapshots[r["r5"]]
    assert r5.start_block == net.chain.call(net.protocol.rounds.functions.currentRoundStartBlock(), block=net.end_block)
    # supply at the round's start: read at its block (historical state), before its reward
    assert r5.total_supply == net.chain.call(net.protocol.token.functions.totalSupply(), block=r5.block)
    assert r5.total_supply < net.protocol.total_supply()
    indexer.close()


def test_small_batches_store_the_same_rows_as_one(net: Seeded, tmp_path: Path) -> None:
    indexed(net, tmp_path / "one.sqlite").close()
    indexed(net, tmp_path / "small.sqlite", batch_blocks=7).close()
    one, small = rows(tmp_path / "one.sqlite"), rows(tmp_path / "small.sqlite")
    assert one == small and len(one["events"]) > 50


def test_a_restart_resumes_where_it_stopped_without_duplicates(net: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    half = net.end_block // 2
    first = indexed(net, path, batch_blocks=5, to_block=half)
    assert first.store.meta().cursor == half
    first.close()
    second = Indexer(net.protocol, path, batch_blocks=5)
    assert second.store.meta().cursor == half  # picks up the cursor
    second.sync(net.end_block)
    second.sync(net.end_block)  # nothing more to do: nothing added
    second.close()
    indexed(net, tmp_path / "ref.sqlite").close()
    assert rows(path) == rows(tmp_path / "ref.sqlite")


def test_a_batch_is_all_or_nothing(net: Seeded, tmp_path: Path) -> None:
    indexer = indexed(net, tmp_path / "x.sqlite", to_block=40)
    store = indexer.store
    before = store.counts()
    event = NewEvent(41, 0, "0x" + "11" * 32, None, "BondingManager", "Reward", 2, {"transcoder": net.a.address, "amount": 1})
    broken = Batch(41, 45, BlockRow(45, "0x" + "22" * 32, 0), events=[event, event])  # a duplicate: the insert fails
    with pytest.raises(sqlite3.IntegrityError):
        store.write_batch(broken)
    assert store.counts() == before and store.meta().cursor == 40
    with pytest.raises(IndexConflict, match="from block 50 does not follow the index, which is at block 40"):
        store.write_batch(Batch(50, 55, BlockRow(55, "0x" + "22" * 32, 0)))  # a gap
    indexer.close()


def test_status_reports_the_lag_when_the_chain_moves_ahead(net: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    indexer = indexed(net, path)
    indexer.lag_blocks = 20
    history = ChainHistory(path, lag_blocks=20)
    status = indexer.status()
    assert status.blocks_behind == 0 and not status.lagging
    assert status.current_round == net.rounds["r5"] and status.round_initialized
    assert status.round_length == 20 and 0 <= (status.round_progress or 0) < 1
    with scratch(net):
        net.chain.mine(30)
        indexer.observe_head()
        for status in (indexer.status(), history.status()):
            assert status.blocks_behind == 30 and status.lagging
            assert status.lag_reason and "30 blocks behind" in status.lag_reason
            assert status.current_round == net.rounds["r5"] + 1 and not status.round_initialized
        indexer.sync()
        status = history.status()
        assert status.blocks_behind == 0 and not status.lagging and status.indexed_block == net.end_block + 30
    stalled = ChainHistory(path, stall_seconds=-1).status()
    assert stalled.lagging and "last read the head" in (stalled.lag_reason or "")
    history.close()
    indexer.close()


def test_run_follows_the_head(net: Seeded, tmp_path: Path) -> None:
    indexer = indexed(net, tmp_path / "x.sqlite")
    updates = []

    async def follow() -> int:
        task = asyncio.create_task(indexer.run(interval=0.02, on_update=updates.append))
        try:
            await asyncio.to_thread(net.protocol.set_service_uri, net.b, "http://b2.example")
            target = net.chain.block_number
            for _ in range(500):  # until the loop has reported the block (it writes the cursor first)
                if updates and updates[-1].indexed_block >= target:
                    break
                await asyncio.sleep(0.02)
            return target
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    with scratch(net):
        target = asyncio.run(follow())
        assert indexer.store.meta().cursor == target
        assert updates and updates[-1].indexed_block == target
        assert indexer.store.recent_events(1)[0].fields["serviceURI"] == "http://b2.example"
    indexer.close()


def test_a_reorg_is_rolled_back_and_indexed_again(net: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    indexer = indexed(net, path)
    history = ChainHistory(path)
    with scratch(net):
        fork = net.chain.snapshot()
        net.protocol.set_service_uri(net.b, "http://lost.example")
        indexer.sync()
        assert history.orchestrator(net.b.address).service_uri == "http://lost.example"
        net.chain.revert(fork)  # the chain drops that block ...
        net.chain.mine(1)
        net.protocol.set_service_uri(net.b, "http://kept.example")  # ... and grows another way
        indexer.sync()
        assert history.orchestrator(net.b.address).service_uri == "http://kept.example"
        uris = [e.fields["serviceURI"] for e in indexer.store.recent_events(1000) if e.name == "ServiceURIUpdate"]
        assert "http://lost.example" not in uris and uris[0] == "http://kept.example"
        assert indexer.store.meta().generation == 1
    history.close()
    indexer.close()


def test_a_file_of_another_deployment_is_refused(net: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    indexed(net, path, to_block=20).close()
    other_chain = Chain.embedded()
    other = Protocol.deploy(other_chain, ProtocolParams(round_length=20), sender=other_chain.accounts[1])
    with pytest.raises(IndexMismatch, match="delete this one to re-index"):
        Indexer(other, path)
    with pytest.raises(IndexNotFound, match="start the indexer"):
        ChainHistory(tmp_path / "none.sqlite")


def test_a_restarted_dev_chain_is_indexed_again_from_the_start(net: Seeded, tmp_path: Path) -> None:
    """A fresh embedded chain deploys at the same addresses: only the block hashes
    tell the old history from the new one."""
    path = tmp_path / "x.sqlite"
    indexed(net, path).close()
    fresh_chain = Chain.embedded()
    fresh = Protocol.deploy(fresh_chain, ProtocolParams(round_length=20), sender=fresh_chain.accounts[0])
    assert fresh.bonding.address == net.protocol.bonding.address
    fresh.advance_rounds(fresh_chain.accounts[0])
    indexer = Indexer(fresh, path)
    indexer.sync()
    names = [e.name for e in indexer.store.recent_events(1000)]
    assert indexer.store.meta().cursor == fresh_chain.block_number and "Reward" not in names and "NewRound" in names
    assert [r.round for r in indexer.store.rounds()] == [fresh.current_round()]
    indexer.close()


def test_it_starts_at_the_deployment_block_or_where_told(net: Seeded, tmp_path: Path) -> None:
    first = Indexer(net.protocol, tmp_path / "a.sqlite")
    assert first.store.meta().cursor == net.protocol.deployment.block - 1
    first.close()
    late = Indexer(net.protocol, tmp_path / "b.sqlite", start_block=net.end_block - 5)
    late.sync(net.end_block)
    assert min(e.block for e in late.store.recent_events(1000)) >= net.end_block - 5
    late.close()
    store = IndexStore.open(tmp_path / "b.sqlite")
    assert store.meta().start_block == net.end_block - 5 and store.counts()["events"] > 0
    store.close()


def test_on_anvil_too(tmp_path: Path) -> None:
    """The JSON-RPC backend: historical reads for the round snapshots, stakes and fees
    to the wei, and a re-org (anvil's snapshot and revert)."""
    for node in anvil_node():
        chain = Chain.connect(node.url)
        s = seed(chain)
        path = tmp_path / "x.sqlite"
        indexer = Indexer(s.protocol, path, batch_blocks=10)
        indexer.sync()
        history = ChainHistory(path)
        rounds = history.rounds()
        assert len(rounds) == len(s.rounds) and all(r.total_supply is not None for r in rounds)
        for who in (s.a, s.b, s.d):
            detail = history.delegator(who.address)
            assert (detail.stake, detail.pending_fees) == (s.protocol.pending_stake(who.address), s.protocol.pending_fees(who.address))
        fork = chain.snapshot()
        s.protocol.set_service_uri(s.b, "http://lost.example")
        indexer.sync()
        chain.revert(fork)
        chain.mine(1)
        s.protocol.set_service_uri(s.b, "http://kept.example")
        indexer.sync()
        assert history.orchestrator(s.b.address).service_uri == "http://kept.example"
        history.close()
        indexer.close()


def test_a_round_length_change_moves_the_clock(tmp_path: Path) -> None:
    chain = Chain.embedded()
    deployer = chain.accounts[0]
    proto = Protocol.deploy(chain, ProtocolParams(round_length=20), sender=deployer)
    proto.advance_rounds(deployer)
    chain.transact(proto.rounds.functions.setRoundLength(30), deployer)
    starts = {}
    for _ in range(3):
        r = proto.advance_rounds(deployer)
        starts[r] = (proto.current_round_start_block(), proto.round_length())
    chain.mine(35)  # into a round nobody initialized
    indexer = Indexer(proto, tmp_path / "x.sqlite", batch_blocks=9)
    indexer.sync()
    got = {s.round: (s.start_block, s.length) for s in indexer.store.rounds()}
    assert {r: got[r] for r in starts} == starts and {length for _, length in starts.values()} == {30}
    status = indexer.status()
    assert (status.current_round, status.round_start_block) == (proto.current_round(), proto.current_round_start_block())
    assert not status.round_initialized
    indexer.close()


class CappedRpc(EmbeddedRpc):
    """An endpoint that refuses eth_getLogs over more than 16 blocks, as public ones cap it."""

    def call(self, method: str, params: list[Any]) -> Any:
        if method == "eth_getLogs":
            query = params[0]
            if int(query["toBlock"], 16) - int(query["fromBlock"], 16) >= 16:
                raise RpcError(-32005, "query exceeds max block range 16")
        return super().call(method, params)


def test_an_endpoint_that_caps_log_ranges_gets_smaller_batches(
    net: Seeded, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="framemesh.explorer.index.indexer")
    server = RpcServer("127.0.0.1", 0, CappedRpc(net.chain.w3.provider))  # the seeded chain, served
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        protocol = Protocol.attach(Chain.connect(server.url), net.protocol.deployment)
        indexer = Indexer(protocol, tmp_path / "capped.sqlite", batch_blocks=100)
        assert indexer.sync(net.end_block) == net.end_block
        assert any("batches of 12 blocks now" in r.getMessage() for r in caplog.records)  # 100 -> 50 -> 25 -> 12
        indexer.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    indexed(net, tmp_path / "ref.sqlite").close()
    assert rows(tmp_path / "capped.sqlite") == rows(tmp_path / "ref.sqlite")
