"""The index file alone: identity, batches, rollback, the feed's filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from framemesh.explorer.index.clock import RoundClock
from framemesh.explorer.index.decode import creation_round, plain
from framemesh.explorer.index.errors import IndexMismatch, IndexNotFound
from framemesh.explorer.index.store import Batch, BlockRow, Identity, IndexStore, NewEvent, RoundSnapshot

A = "0x" + "aa" * 20
B = "0x" + "bb" * 20
IDENTITY = Identity(7, {"BondingManager": "0x" + "11" * 20}, 10)


def event(block: int, i: int, name: str, **fields: object) -> NewEvent:
    return NewEvent(block, i, f"0x{block:032x}{i:032x}", A, "BondingManager", name, block // 10, fields)


def batch(start: int, end: int, *events: NewEvent, rounds: tuple[RoundSnapshot, ...] = ()) -> Batch:
    return Batch(start, end, BlockRow(end, f"0x{end:064x}", 1000 + end), events, rounds,
                 [BlockRow(e.block, f"0x{e.block:064x}", 1000 + e.block) for e in events], RoundClock(10))


def test_a_new_file_starts_before_its_start_block(tmp_path: Path) -> None:
    store = IndexStore.create(tmp_path / "x.sqlite", IDENTITY)
    m = store.meta()
    assert (m.chain_id, m.start_block, m.cursor, m.clock, m.generation) == (7, 10, 9, None, 0)
    store.close()
    with pytest.raises(IndexMismatch, match="chain 7"):
        IndexStore.create(tmp_path / "x.sqlite", Identity(8, IDENTITY.contracts, 10))
    same = IndexStore.create(tmp_path / "x.sqlite", Identity(7, {"BondingManager": "0x" + "11" * 20}, 99))
    assert same.meta().start_block == 10  # the file's own start stands
    same.close()
    with pytest.raises(IndexNotFound):
        IndexStore.open(tmp_path / "missing.sqlite")


def test_batches_append_and_a_rollback_forgets_what_followed(tmp_path: Path) -> None:
    store = IndexStore.create(tmp_path / "x.sqlite", IDENTITY)
    r2 = RoundSnapshot(2, 20, 10, 21, "0x01", A, None, 100, 10)
    store.write_batch(batch(10, 24, event(12, 0, "Bond", delegator=A), event(21, 0, "NewRound", round=2), rounds=(r2,)))
    r3 = RoundSnapshot(3, 30, 10, 31, "0x02", A, None, 100, 10)
    store.write_batch(batch(25, 40, event(31, 0, "NewRound", round=3), event(33, 1, "Reward", transcoder=B), rounds=(r3,)))
    assert store.counts() == {"events": 4, "rounds": 2, "blocks": 6}
    assert store.meta().cursor == 40 and store.meta().cursor_timestamp == 1040
    assert [b.number for b in store.recent_blocks(3)] == [40, 33, 31]
    store.rollback_to(24)
    m = store.meta()
    assert (m.cursor, m.cursor_timestamp, m.generation) == (24, 1024, 1)
    assert m.clock == RoundClock(10, 2, 20)  # as round 2, the last one left, set it
    assert [e.name for e in store.events_after(0)] == ["Bond", "NewRound"] and [r.round for r in store.rounds()] == [2]
    assert store.recent_events(10, address=B) == []  # its addresses went with it
    store.close()


def test_the_feed_filters_by_address_and_pages(tmp_path: Path) -> None:
    store = IndexStore.create(tmp_path / "x.sqlite", IDENTITY)
    store.write_batch(batch(10, 30, event(11, 0, "Bond", delegator=B, newDelegate=A), event(12, 0, "Reward", transcoder=A),
                            event(12, 1, "Minted", amount=2**70)))
    feed = store.recent_events(10)
    assert [(e.block, e.log_index) for e in feed] == [(12, 1), (12, 0), (11, 0)]
    assert feed[0].fields["amount"] == 2**70 and feed[0].timestamp == 1012  # exact, and timed
    assert [e.name for e in store.recent_events(10, address=B.upper().replace("0X", "0x"))] == ["Bond"]
    assert [e.name for e in store.recent_events(10, before=(12, 1))] == ["Reward", "Bond"]
    assert store.recent_events(0) == []
    store.close()


def test_decoded_values_become_json_without_loss() -> None:
    assert plain(b"\x01\x02") == "0x0102" and plain((1, b"\xff")) == [1, "0xff"] and plain(True) is True
    assert json.loads(json.dumps(plain(2**255))) == 2**255
    assert creation_round("0x" + (42).to_bytes(32, "big").hex() + "00" * 32) == 42
    assert creation_round("0x1234") is None
