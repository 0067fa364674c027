"""The gateway's job lists: newest first, a page at a time, from one connection to
the gateway's database (its SQLite file, and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from framemesh.gateway.ai.jobs import StagePlan
from framemesh.gateway.app import create_app
from framemesh.gateway.config import MAX_PAGE, GatewayConfig


@pytest.fixture
def client(tmp_path: Path, records_db: Path | str) -> Iterator[TestClient]:
    database = records_db if isinstance(records_db, str) else None  # None: the file in data_dir
    with TestClient(create_app(GatewayConfig(data_dir=tmp_path, open=True, database=database))) as c:
        yield c


def test_transcode_jobs_come_newest_first_a_page_at_a_time(client: TestClient, tmp_path: Path) -> None:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    for n in range(5):
        gateway.store.add_job(f"job{n}", ("240p",), tmp_path / "x.mp4", "x.mp4")
    assert [j["id"] for j in client.get("/jobs").json()] == ["job4", "job3", "job2", "job1", "job0"]
    assert [j["id"] for j in client.get("/jobs", params={"limit": 2, "offset": 1}).json()] == ["job3", "job2"]
    assert client.get("/jobs", params={"offset": 5}).json() == []
    for bad in ({"limit": 0}, {"limit": MAX_PAGE + 1}, {"offset": -1}):
        response = client.get("/jobs", params=bad)
        assert response.status_code == 422 and response.json()["detail"]["code"] == "invalid_request", bad


def test_ai_jobs_come_newest_first_a_page_at_a_time(client: TestClient) -> None:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert gateway.store.database is gateway.ai_store.database, "one connection for the gateway's records"
    plan = [StagePlan("text-to-speech", "piper", {"text": "hi"}), StagePlan("audio-to-text", "sphinx", {}, {"audio": 0})]
    for n in range(4):
        gateway.ai_store.add_job(f"ai{n}", "stages", plan)
    page = client.get("/ai/jobs", params={"limit": 3}).json()
    assert [j["id"] for j in page] == ["ai3", "ai2", "ai1"]
    assert all([s["pipeline"] for s in j["stages"]] == ["text-to-speech", "audio-to-text"] for j in page)
    assert [j["id"] for j in client.get("/ai/jobs", params={"offset": 3}).json()] == ["ai0"]
