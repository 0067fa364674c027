"""The live streams' records on a real SQLite file and a real PostgreSQL database."""

import time
from pathlib import Path

from framemesh.gateway.live.store import (
    APPLIED, IN_WORK, LISTED, PENDING, SKIPPED, UNUSED, SegmentRecord, StreamStore,
)
from framemesh.media.hls import Placed
from framemesh.wire.states import StreamState


def test_changes_still_pending_when_a_stream_ends_are_marked_unused(records_db: Path | str) -> None:
    store = StreamStore(records_db)
    store.add("s1", "ai", "key", (), False, {"pipeline": "live-video-to-video", "model_id": "m", "params": {}})
    store.add("s2", "other", "key2", (), False, {"pipeline": "live-video-to-video", "model_id": "m", "params": {}})
    store.add_control("s1", {"a": 1})
    store.add_control("s1", {"a": 2})
    store.add_control("s2", {"b": 1})
    store.control_applied("s1", 1, seq=3, at=10.0, ai={"params": {"a": 1}})

    assert store.controls_unused("s1") == 1

    states = [(c.n, c.state, c.error) for c in store.controls("s1")]
    assert states[0][:2] == (1, APPLIED)
    assert states[1][:2] == (2, UNUSED) and "ended" in (states[1][2] or "")
    assert [c.state for c in store.controls("s2")] == [PENDING], "another stream's changes are left alone"
    assert store.controls_unused("s1") == 0


def test_a_stream_its_segments_and_counters_round_trip(records_db: Path | str) -> None:
    store = StreamStore(records_db)
    made = store.add("s1", "cam", "key-1", ("360p", "240p"), True)
    assert (made.state, made.profiles, made.record, made.ai) == (StreamState.IDLE, ("360p", "240p"), True, None)
    assert store.by_key("key-1") == made and store.by_key("nope") is None
    live = store.set_state("s1", StreamState.LIVE)
    assert live.live_since is not None and live.ended_at is None
    assert store.set_state("s1", StreamState.LIVE).live_since == live.live_since, "live since the first time"
    store.count("s1", fees=2**70, swaps=1)
    store.count("s1", fees=1, reconnects=2)
    files = {"360p": Placed("360p/3.m4s", 2.0, 800, 9000, False)}
    for seq in range(5):
        store.add_segment(SegmentRecord("s1", seq, 2.0, seq == 2, 100.0 + seq, IN_WORK, None, 1, None, None, {}))
    store.add_segment(SegmentRecord("s1", 3, 2.0, False, 103.0, LISTED, "http://o1", 2, 0.5, 1.2, files))  # replaces it
    store.add_segment(SegmentRecord("s1", 4, 2.0, False, 104.0, SKIPPED, None, 3, None, None, {}))
    assert [s.seq for s in store.segments("s1", last=2)] == [3, 4]
    third = store.segments("s1")[3]
    assert (third.state, third.orchestrator, third.attempts, third.latency) == (LISTED, "http://o1", 2, 1.2)
    assert third.files["360p"].name == "360p/3.m4s" and store.segments("s1")[2].discontinuity
    assert store.summary("s1") == (1, 4, {"http://o1": 1})
    ended = store.set_state("s1", StreamState.ENDED, recording="s1/master.m3u8")
    assert (ended.fees, ended.swaps, ended.reconnects) == (2**70 + 1, 1, 2), "wei beyond 64 bits, exactly"
    assert ended.ended_at is not None and ended.recording == "s1/master.m3u8"
    store.add("s2", "other", "key-2", (), False)
    assert [s.id for s in store.unfinished()] == ["s2"] and [s.id for s in store.page(10)] == ["s2", "s1"]
    assert store.delete_ended(time.time() + 1) == ["s1"] and store.segments("s1") == []
    store.close()
