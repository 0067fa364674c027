"""The score history: sampled once per new result, read back by orchestrator and work, expired."""

from __future__ import annotations

from pathlib import Path

from framemesh.gateway.core.score_store import ScorePoint, ScoreRecorder, ScoreStore, to_wall
from framemesh.gateway.core.scores import TRANSCODING, Result, Scoreboard, Work

T2I = Work.ai("text-to-image", "tiny-sd")


def recorder(where: Path | str, retention: float | None = None) -> tuple[ScoreRecorder, Scoreboard, ScoreStore]:
    board, store = Scoreboard(), ScoreStore(where)
    addresses = {"http://a": "0xAbC0000000000000000000000000000000000001"}
    return ScoreRecorder(store, board, addresses.get, interval=60.0, retention=retention), board, store


def test_a_point_per_orchestrator_and_work_only_when_it_had_new_results(records_db: Path | str) -> None:
    rec, board, store = recorder(records_db)
    board.record("http://a", TRANSCODING, Result(10.0, True, 1.0, 2.0))
    board.record("http://a", T2I, Result(10.0, False))
    board.record("http://b", TRANSCODING, Result(10.0, True, 4.0, 2.0))
    first = rec.sample(now=11.0, wall_now=1000.0)
    assert sorted((p.url, p.kind) for p in first) == [("http://a", "ai"), ("http://a", "transcode"), ("http://b", "transcode")]
    rec.write(first)
    assert rec.sample(now=12.0, wall_now=1001.0) == [], "no new result: no new point"
    board.record("http://b", TRANSCODING, Result(12.5, False))
    second = rec.sample(now=13.0, wall_now=1002.0)
    assert [(p.url, p.success_rate) for p in second] == [("http://b", 0.5)]
    rec.write(second)
    history = store.history(orchestrator="http://b")
    assert [(p.at, p.success_rate) for p in history] == [(1000.0, 1.0), (1002.0, 0.5)]
    store.close()


def test_history_by_address_kind_model_and_since(records_db: Path | str) -> None:
    rec, board, store = recorder(records_db)
    board.record("http://a", TRANSCODING, Result(0.0, True, 1.0, 2.0))
    board.record("http://a", T2I, Result(0.0, True, 1.0))
    rec.write(rec.sample(now=1.0, wall_now=500.0))
    by_address = store.history(orchestrator="0xabc0000000000000000000000000000000000001")
    assert {p.kind for p in by_address} == {"transcode", "ai"}, "the address matches whatever its case"
    ai = store.history(orchestrator="http://a/", kind="ai", model="tiny-sd")
    assert [(p.pipeline, p.model, p.address) for p in ai] == [("text-to-image", "tiny-sd", "0xAbC0000000000000000000000000000000000001")]
    assert store.history(since=501.0) == []
    assert len(store.history(limit=1)) == 1
    store.close()


def test_points_past_the_retention_are_forgotten(records_db: Path | str) -> None:
    rec, _, store = recorder(records_db, retention=3600.0)
    old = ScorePoint(1.0, "http://a", None, "transcode", None, None, 0.5, 1.0, 0.5, 1.0, 3)
    store.add([old])
    rec.write([])
    assert store.history() == []
    store.close()


def test_to_wall_converts_the_monotonic_clock() -> None:
    assert to_wall(95.0, now=100.0, wall_now=1_000_000.0) == 999_995.0
