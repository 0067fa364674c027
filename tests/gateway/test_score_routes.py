"""GET /scores and GET /scores/history: the shapes the explorer reads, and their errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from framemesh.gateway.app import create_app
from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.core.scores import TRANSCODING, Result, Work

T2I = Work.ai("text-to-image", "tiny-sd")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    config = GatewayConfig(data_dir=tmp_path, api_token="t", orchestrators=("http://127.0.0.1:9",), info_refresh_seconds=3600)
    with TestClient(create_app(config)) as c:
        yield c


def test_scores_need_the_access_other_read_routes_need(client: TestClient) -> None:
    response = client.get("/scores")
    assert response.status_code == 401 and response.json()["detail"]["code"] == "unauthorized"
    assert client.get("/scores/history").status_code == 401


def test_current_scores_and_history(client: TestClient) -> None:
    import time

    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    now = time.monotonic()
    board = gateway.pool.scores
    for trip in (1.0, 3.0):
        board.record("http://127.0.0.1:9", TRANSCODING, Result(now, True, trip, 2.0))
        board.record("http://127.0.0.1:9", T2I, Result(now, True, trip))
    auth = {"Authorization": "Bearer t"}
    body = client.get("/scores", headers=auth).json()
    assert body["window_seconds"] == 600.0
    assert body["ai"]["text-to-image/tiny-sd"]["median_round_trip"] == 2.0
    rows = {r["kind"]: r for r in body["orchestrators"]}
    assert rows["transcode"]["url"] == "http://127.0.0.1:9" and rows["transcode"]["samples"] == 2
    assert rows["transcode"]["pipeline"] is None and rows["ai"]["model"] == "tiny-sd"
    assert 0 < rows["transcode"]["score"] < 1 and rows["ai"]["success_rate"] == 1.0
    assert abs(rows["ai"]["updated_at"] - time.time()) < 60, "in Unix seconds"

    gateway.score_recorder.write(gateway.score_recorder.sample())
    points = client.get("/scores/history", headers=auth, params={"orchestrator": "http://127.0.0.1:9", "kind": "ai"}).json()
    assert [(p["kind"], p["pipeline"], p["model"]) for p in points["points"]] == [("ai", "text-to-image", "tiny-sd")]
    assert set(points["points"][0]) == {"at", "url", "kind", "pipeline", "model", "score", "success_rate", "latency_score"}
    assert client.get("/scores/history", headers=auth, params={"since": time.time() + 60}).json() == {"points": []}
    bad = client.get("/scores/history", headers=auth, params={"kind": "mining"})
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "unknown_kind"
    assert client.get("/scores/history", headers=auth, params={"since": -1}).status_code == 422
