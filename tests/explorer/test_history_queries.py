"""The read API over an index of the seeded network, checked against the contracts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from framemesh.explorer.index import ChainHistory, Indexer, InvalidAddress, UnknownAddress, UnknownRound
from tests.explorer.index_seed import ETH, FMT, Seeded, scratch, shared


@pytest.fixture(scope="module")
def net() -> Seeded:
    return shared()


@pytest.fixture(scope="module")
def history(net: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainHistory]:
    path = tmp_path_factory.mktemp("history") / "explorer.sqlite"
    indexer = Indexer(net.protocol, path)
    indexer.sync(net.end_block)
    indexer.close()
    h = ChainHistory(path)
    yield h
    h.close()


def at_end(net: Seeded, fn: Any) -> Any:
    """A contract read at the last seeded block (other tests may move the chain on)."""
    return net.chain.call(fn, block=net.end_block)


def test_rounds_say_who_initialized_them_and_who_rewarded(net: Seeded, history: ChainHistory) -> None:
    r = net.rounds
    rounds = history.rounds()
    assert [x.round for x in rounds] == [r[k] for k in ("r5", "r4", "r3", "r2", "r1", "r0")]
    by = {x.round: x for x in rounds}
    assert all(x.initialized_by == net.deployer.address for x in rounds)
    assert not by[r["r5"]].complete and all(by[r[k]].complete for k in ("r0", "r1", "r4"))
    calls = {k: (by[r[k]].reward_calls, by[r[k]].reward_calls_missed) for k in ("r0", "r1", "r2", "r3", "r4", "r5")}
    assert calls == {"r0": (0, 0), "r1": (2, 0), "r2": (1, 1), "r3": (2, 0), "r4": (1, 1), "r5": (1, 1)}
    assert by[r["r1"]].active_orchestrators == 2
    r5 = by[r["r5"]]
    bm, minter = net.protocol.bonding.functions, net.protocol.minter.functions
    assert r5.mintable == at_end(net, minter.currentMintableTokens())
    assert r5.inflation == at_end(net, minter.inflation()) and r5.inflation_rate == r5.inflation / 1e9
    assert r5.active_stake == at_end(net, bm.currentRoundTotalActiveStake())
    assert r5.minted == at_end(net, minter.currentMintedTokens()) > 0
    assert r5.total_supply is not None and r5.total_bonded is not None
    assert r5.bonding_rate == pytest.approx(r5.total_bonded / r5.total_supply)
    assert r5.start_block == at_end(net, net.protocol.rounds.functions.currentRoundStartBlock())
    assert r5.initialized_at == net.chain.block_header(r5.initialized_block).timestamp


def test_fees_and_tickets_per_round(net: Seeded, history: ChainHistory) -> None:
    r = net.rounds
    by = {x.round: x for x in history.rounds()}
    assert by[r["r1"]].fees == ETH // 10 and by[r["r2"]].fees == ETH // 5 + ETH // 20
    assert (by[r["r1"]].tickets_redeemed, by[r["r2"]].tickets_redeemed) == (1, 2)
    # won: by the round the ticket was made in (its auxData), not redeemed in
    assert (by[r["r1"]].tickets_won, by[r["r1"]].tickets_won_face_value) == (2, ETH // 10 + ETH // 5)
    assert (by[r["r2"]].tickets_won, by[r["r2"]].tickets_won_face_value) == (1, ETH // 20)


def test_rounds_page_and_one_round(net: Seeded, history: ChainHistory) -> None:
    r = net.rounds
    assert [x.round for x in history.rounds(limit=2)] == [r["r5"], r["r4"]]
    assert [x.round for x in history.rounds(limit=2, before=r["r4"])] == [r["r3"], r["r2"]]
    assert history.round(r["r2"]).reward_calls == 1
    with pytest.raises(UnknownRound, match="not in the index"):
        history.round(r["r5"] + 5)


def test_series_are_columns_for_charts(net: Seeded, history: ChainHistory) -> None:
    series = history.series()
    rounds = list(reversed(history.rounds()))
    assert series.rounds == [x.round for x in rounds]
    assert series.timestamps == [x.initialized_at for x in rounds] and None not in series.timestamps
    n = len(series.rounds)
    assert all(len(getattr(series, f)) == n for f in ("inflation_rate", "bonding_rate", "total_supply", "minted", "fees",
                                                      "tickets_won", "tickets_redeemed", "reward_calls_missed"))
    assert series.minted[-1] == pytest.approx(rounds[-1].minted / FMT)
    assert series.fees[rounds.index(history.round(net.rounds["r2"]))] == pytest.approx(0.25)
    assert history.series(limit=2).rounds == series.rounds[-2:]


def test_orchestrators_list(net: Seeded, history: ChainHistory) -> None:
    a, b = history.orchestrators()
    assert (a.address, b.address) == (net.a.address, net.b.address)
    bm = net.protocol.bonding.functions
    assert a.stake == at_end(net, bm.transcoderTotalStake(net.a.address))
    assert b.stake == at_end(net, bm.transcoderTotalStake(net.b.address))
    assert a.stake_share + b.stake_share == pytest.approx(1.0) and a.stake_share > b.stake_share
    assert (a.reward_cut, a.fee_share, a.reward_cut_fraction, a.fee_share_fraction) == (50_000, 600_000, 0.05, 0.6)
    assert (a.reward_calls, a.reward_calls_missed, b.reward_calls, b.reward_calls_missed) == (5, 0, 2, 2)
    assert (b.reward_calls_recent, b.reward_calls_missed_recent) == (2, 2)
    assert (a.last_reward_round, b.last_reward_round) == (net.rounds["r5"], net.rounds["r3"])
    assert (a.last_cut_change_round, b.last_cut_change_round) == (net.rounds["r2"], None)
    assert (a.delegators, b.delegators) == (2, 1)
    assert (a.fees_total, b.fees_total) == (ETH // 10 + ETH // 5, ETH // 20)
    assert a.network_fee_share == pytest.approx(6 / 7) and a.fee_vs_stake == pytest.approx((6 / 7) / a.stake_share)
    assert (a.service_uri, a.active, a.registered) == ("http://a.example", True, True)
    assert (a.tickets_redeemed, a.tickets_face_value) == (2, ETH // 10 + ETH // 5)


def test_an_orchestrator_page(net: Seeded, history: ChainHistory) -> None:
    r = net.rounds
    a = history.orchestrator(net.a.address.lower())  # any case
    assert [(c.round, c.reward_cut, c.fee_share) for c in a.cut_history] == [(r["r2"], 50_000, 600_000), (r["r0"], 100_000, 500_000)]
    assert {d.address for d in a.delegator_list} == {net.a.address, net.d.address}
    b = history.orchestrator(net.b.address)
    rounds = {x.round: x for x in b.rounds}
    assert [x.round for x in b.rounds] == sorted(rounds, reverse=True)
    assert [rounds[r[k]].reward_called for k in ("r1", "r2", "r3", "r4", "r5")] == [True, False, True, False, False]
    assert [rounds[r[k]].reward_missed for k in ("r1", "r2", "r3", "r4", "r5")] == [False, True, False, True, False]
    assert not rounds[r["r0"]].active and rounds[r["r1"]].active
    assert rounds[r["r1"]].stake == 500 * FMT and rounds[r["r2"]].stake == 500 * FMT + rounds[r["r1"]].reward
    assert rounds[r["r2"]].tickets == 1 and rounds[r["r2"]].fees == ETH // 20
    with pytest.raises(UnknownAddress, match="no orchestrator"):
        history.orchestrator(net.d.address)  # a delegator only
    with pytest.raises(InvalidAddress, match="not an address"):
        history.orchestrator("0x1234")


def pending(net: Seeded, who: str) -> tuple[int, int]:
    bm = net.protocol.bonding.functions
    r5 = net.rounds["r5"]
    return at_end(net, bm.pendingStake(who, r5)), at_end(net, bm.pendingFees(who, r5))


def test_stakes_and_fees_match_the_contract(net: Seeded, history: ChainHistory) -> None:
    for who in (net.a, net.b, net.d):
        detail = history.delegator(who.address)
        assert (detail.stake, detail.pending_fees) == pending(net, who.address), who.address
        assert detail.unclaimed_rewards == detail.stake - detail.bonded
    d = history.delegator(net.d.address)
    assert d.bonded == at_end(net, net.protocol.bonding.functions.getDelegator(net.d.address))[0]
    assert (d.delegate, d.is_orchestrator, d.start_round) == (net.a.address, False, net.rounds["r1"])
    assert history.delegator(net.a.address).is_orchestrator


def test_earnings_per_round_are_the_pool_shares(net: Seeded, history: ChainHistory) -> None:
    r = net.rounds
    d = history.delegator(net.d.address)
    earnings = {e.round: e for e in d.earnings}
    assert sorted(earnings) == [r[k] for k in ("r1", "r2", "r3", "r4", "r5")]
    principal = (300 + 50 - 100) * FMT
    assert d.rewards_total == sum(e.rewards for e in d.earnings) == d.stake - principal
    assert d.fees_total == sum(e.fees for e in d.earnings) == d.pending_fees
    a_rounds = {x.round: x for x in history.orchestrator(net.a.address).rounds}
    for k in ("r1", "r2", "r3", "r4", "r5"):
        e, pool = earnings[r[k]], a_rounds[r[k]]
        assert pool.stake and pool.reward_cut is not None
        shared = pool.reward * (10**6 - pool.reward_cut) // 10**6
        assert e.rewards == pytest.approx(shared * e.stake / pool.stake, rel=1e-12), k
    # fees: half of r1's ticket (A's fee share then), a share by D's stake at the round's start
    e, pool = earnings[r["r1"]], a_rounds[r["r1"]]
    assert e.fees == pytest.approx(ETH // 10 // 2 * e.stake / pool.stake, rel=1e-12)
    assert d.unbonding[0].amount == 100 * FMT and d.unbonding[0].state == "unbonding"


def test_a_claim_moves_earnings_into_the_bond_and_agrees_with_the_contract(net: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    indexer = Indexer(net.protocol, path)
    with scratch(net):
        net.protocol.claim_earnings(net.d)
        net.protocol.withdraw_fees(net.d, net.d.address, ETH // 100)
        net.protocol.claim_earnings(net.a)
        indexer.sync()
        history = ChainHistory(path)
        for who in (net.a, net.d):
            detail = history.delegator(who.address)
            assert detail.bonded == net.protocol.delegator(who.address)[0] == net.protocol.pending_stake(who.address)
            assert detail.unclaimed_rewards == 0 and detail.pending_fees == net.protocol.pending_fees(who.address)
        d = history.delegator(net.d.address)
        assert d.fees_withdrawn == ETH // 100
        assert d.rewards_total == d.bonded - (300 + 50 - 100) * FMT
        assert history._ledger.mismatches == []  # every claim event agreed with the replay
        history.close()
    indexer.close()


def test_gateways(net: Seeded, history: ChainHistory) -> None:
    (g,) = history.gateways()
    info = net.protocol.sender_info(net.g.address)  # no ticket redeemed since the seed
    assert (g.address, g.deposit, g.reserve) == (net.g.address, info.deposit, info.reserve)
    assert (g.deposit_funded, g.reserve_funded) == (10 * ETH, ETH)
    assert (g.tickets_redeemed, g.face_value, g.paid) == (3, ETH // 10 + ETH // 5 + ETH // 20, 10 * ETH - info.deposit)
    detail = history.gateway(net.g.address)
    assert [(p.orchestrator, p.tickets) for p in detail.orchestrators] == [(net.a.address, 2), (net.b.address, 1)]
    assert [x.round for x in detail.rounds] == sorted((x.round for x in detail.rounds), reverse=True)
    assert sum(x.tickets for x in detail.rounds) == 3
    with pytest.raises(UnknownAddress, match="no gateway"):
        history.gateway(net.a.address)


def test_the_event_feed(net: Seeded, history: ChainHistory) -> None:
    latest = history.events(limit=3)
    assert len(latest) == 3 and latest[0].block >= latest[1].block >= latest[2].block
    assert latest[0].name in ("Reward", "Minted") and latest[0].round == net.rounds["r5"]
    mine = history.events(limit=200, address=net.d.address)
    assert {e.name for e in mine} >= {"Bond", "Unbond", "EarningsClaimed"}
    assert all(net.d.address in (*map(str, e.fields.values()), e.tx_from) for e in mine)
    older = history.events(limit=3, before=(latest[-1].block, latest[-1].log_index))
    assert (older[0].block, older[0].log_index) < (latest[-1].block, latest[-1].log_index)
    assert latest[0].timestamp is not None


def test_models_serve_as_json_with_amounts_as_strings(history: ChainHistory) -> None:
    row = json.loads(history.rounds(limit=1)[0].model_dump_json())
    assert isinstance(row["minted"], str) and int(row["minted"]) > 0
    assert isinstance(row["round"], int)
    reward = next(e for e in history.events(limit=20) if e.name == "Reward")
    fields = json.loads(reward.model_dump_json())["fields"]
    assert fields["amount"] == str(reward.fields["amount"]) and isinstance(reward.fields["amount"], int)


def test_a_reader_sees_what_the_indexer_adds_after_it_opened(net: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    indexer = Indexer(net.protocol, path)
    indexer.sync(net.rounds["r3"] * 20)
    history = ChainHistory(path)
    early = history.rounds()
    indexer.sync(net.end_block)
    later = history.rounds()
    assert len(later) > len(early)
    fresh = ChainHistory(path)
    assert later == fresh.rounds() and history.delegator(net.d.address) == fresh.delegator(net.d.address)
    for h in (history, fresh):
        h.close()
    indexer.close()


def test_a_slash_shows_in_stake_and_active_set(net: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    indexer = Indexer(net.protocol, path)
    with scratch(net):
        slash = net.protocol.bonding.functions.slashTranscoder(net.b.address, net.d.address, 100_000, 500_000)
        net.chain.transact(slash, net.deployer)  # the deployer is the verifier of a fresh deployment
        indexer.sync()
        history = ChainHistory(path)
        b = history.orchestrator(net.b.address)
        assert b.stake == net.protocol.total_stake(net.b.address)
        assert b.deactivation_round == net.rounds["r5"] + 1 and b.active  # out from the next round
        detail = history.delegator(net.b.address)
        assert detail.stake == net.protocol.pending_stake(net.b.address) and detail.unclaimed_rewards == 0
        assert history.events(limit=1)[0].name == "TranscoderSlashed"
        assert history._ledger.mismatches == []
        history.close()
    indexer.close()


def test_a_delegator_who_rebonds_moves_and_withdraws(net: Seeded, tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite"
    indexer = Indexer(net.protocol, path)
    p, d = net.protocol, net.d
    with scratch(net):
        p.rebond(d, 0)  # the 100 FMT unbonding since r4, back to A
        p.unbond(d, 40 * FMT)  # lock 1
        p.bond(d, 0, net.b.address)  # everything it has bonded moves to B
        p.advance_rounds(net.deployer)
        p.reward(net.a)
        p.reward(net.b)
        p.advance_rounds(net.deployer)
        p.reward(net.b)
        p.withdraw_stake(d, 1)  # its unbonding period (2 rounds) is over
        indexer.sync()
        history = ChainHistory(path)
        for who in (net.a, net.b):
            assert history.orchestrator(who.address).stake == p.total_stake(who.address)
        detail = history.delegator(d.address)
        assert (detail.stake, detail.pending_fees) == (p.pending_stake(d.address), p.pending_fees(d.address))
        assert detail.delegate == net.b.address and [lock.state for lock in detail.unbonding] == ["rebonded", "withdrawn"]
        last = detail.earnings[0]
        assert last.delegate == net.b.address and last.round == p.current_round() and last.rewards > 0
        assert {x.address for x in history.orchestrator(net.b.address).delegator_list} == {net.b.address, d.address}
        assert history._ledger.mismatches == []
        history.close()
    indexer.close()
