"""The live streams' records on a real SQLite file and a real PostgreSQL database."""

from pathlib import Path

from framemesh.gateway.live.store import APPLIED, PENDING, UNUSED, StreamStore


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
