"""Lag and round progress from the file's meta alone."""

from __future__ import annotations

from framemesh.explorer.index.clock import RoundClock
from framemesh.explorer.index.status import index_status
from framemesh.explorer.index.store import Meta


def meta(**kw: object) -> Meta:
    base: dict[str, object] = dict(
        chain_id=1, start_block=0, cursor=95, cursor_timestamp=1_000, clock=RoundClock(20, 1, 20),
        head_block=100, head_timestamp=1_010, head_seen_at=5_000.0, generation=0,
    )
    base.update(kw)
    return Meta(**base)  # type: ignore[arg-type]


def test_a_close_index_is_not_lagging_and_knows_its_round() -> None:
    s = index_status(meta(), 5, now=5_001.0, lag_blocks=10, stall_seconds=60)
    assert (s.blocks_behind, s.seconds_behind, s.lagging, s.lag_reason) == (5, 10.0, False, None)
    assert (s.current_round, s.round_start_block, s.round_length, s.round_initialized) == (5, 100, 20, True)
    assert s.round_progress == 0.0
    later = index_status(meta(head_block=119), 5, now=5_001.0, lag_blocks=50, stall_seconds=60)
    assert later.round_progress == 19 / 20


def test_far_behind_or_stalled_is_lagging_with_the_reason() -> None:
    s = index_status(meta(head_block=200), 5, now=5_001.0, lag_blocks=10, stall_seconds=60)
    assert s.lagging and s.lag_reason == "105 blocks behind the head (more than 10)"
    assert not s.round_initialized  # round 10 at the head, 5 initialized
    s = index_status(meta(), 5, now=5_200.0, lag_blocks=10, stall_seconds=60)
    assert s.lagging and s.lag_reason == "the indexer last read the head 200 s ago"


def test_before_the_first_look_at_the_head() -> None:
    s = index_status(meta(head_block=None, head_timestamp=None, head_seen_at=None, clock=None), None,
                     now=1.0, lag_blocks=10, stall_seconds=60)
    assert s.lagging and "has not read the chain head" in (s.lag_reason or "")
    assert (s.blocks_behind, s.seconds_behind, s.current_round, s.round_progress) == (None, None, None, None)
