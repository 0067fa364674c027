"""The orchestrator's /metrics and /stats, after real work on a real node (in process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from framemesh.media.testclip import make_test_clip
from framemesh.orchestrator.app import create_app
from framemesh.orchestrator.config import OrchestratorConfig
from framemesh.orchestrator.duties import RoundDuties
from framemesh.orchestrator.metrics import OrchestratorMetrics
from tests.e2e.scrape import Scrape, id_like_labels


@pytest.fixture
def node(tmp_path: Path) -> Iterator[TestClient]:
    config = OrchestratorConfig(data_dir=tmp_path / "o", name="o", capacity=1, price_per_pixel=7)
    with TestClient(create_app(config)) as client:
        yield client


def _scrape(client: TestClient) -> Scrape:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


def test_segments_are_counted_by_how_they_end(node: TestClient, tmp_path: Path) -> None:
    clip = make_test_clip(tmp_path / "seg.mp4", duration=1.0, width=320, height=180)
    job = "f00dfeedf00dfeedf00dfeedf00dfeed"
    ok = node.post(f"/transcode?profiles=240p&job_id={job}&segment=4", content=clip.read_bytes(),
                   headers={"content-type": "video/mp4"})
    assert ok.status_code == 200, ok.text
    assert node.post("/transcode?profiles=240p", content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    bad = node.post("/transcode?profiles=240p", content=b"not a video", headers={"content-type": "video/mp4"})
    assert bad.status_code == 422
    found = _scrape(node)
    assert found.families["framemesh_orchestrator_segments"].type == "counter"
    assert found.value("framemesh_orchestrator_segments_total", outcome="ok") == 1
    assert found.value("framemesh_orchestrator_segments_total", outcome="refused") == 2
    assert found.value("framemesh_orchestrator_transcode_seconds_count") == 1
    assert found.value("framemesh_orchestrator_transcode_seconds_sum") > 0
    stats = node.get("/stats").json()
    assert found.value("framemesh_orchestrator_pixels_total") == stats["pixels_done"] > 0
    assert found.value("framemesh_orchestrator_transcode_capacity") == 1
    assert found.value("framemesh_orchestrator_transcode_load") == 0
    assert found.value("framemesh_orchestrator_price_per_unit_wei", capability="transcode") == 7
    # the job's id, the segment and the client are nowhere in the labels
    assert job not in found.text and id_like_labels(found) == []
    # off-chain: the chain's and the payments' metrics are there, without samples
    assert found.families["framemesh_tickets_received"].samples == []
    assert found.families["framemesh_chain_head_block"].samples == []


def test_stats_says_what_was_done_and_what_is_in_hand(node: TestClient) -> None:
    stats = node.get("/stats").json()
    assert stats["segments_done"] == 0 and stats["capacity"] == 1
    assert stats["in_flight"] == {"transcode_segments": 0, "ai_requests": {}, "live_ai_segments": 0}
    assert stats["payments"] is None and stats["ai"] is None and stats["rewards"] is None
    assert node.get("/metrics").status_code == 200  # open, as /stats is
    assert "/stats" in node.get("/openapi.json").json()["paths"]


def test_a_busy_orchestrator_counts_busy(node: TestClient, tmp_path: Path) -> None:
    state = node.app.state.orchestrator  # type: ignore[attr-defined]
    assert state.limiter.try_acquire()  # its one slot, taken
    try:
        busy = node.post("/transcode?profiles=240p", content=b"x", headers={"content-type": "video/mp4"})
        assert busy.status_code == 503
        assert node.get("/stats").json()["in_flight"]["transcode_segments"] == 1
    finally:
        state.limiter.release()
    found = _scrape(node)
    assert found.value("framemesh_orchestrator_segments_total", outcome="busy") == 1
    assert found.value("framemesh_orchestrator_transcode_load") == 0


def test_reward_calls_are_read_from_the_duties(node: TestClient) -> None:
    duties = RoundDuties(protocol=None, signer=None)
    duties.calls.update({"minted": 2, "refused": 1})
    duties.rewards.update({3: 100, 4: 50})
    duties.initialized.append(4)
    node.app.state.orchestrator.duties = duties  # type: ignore[attr-defined]  # read when scraped
    found = _scrape(node)
    assert found.value("framemesh_reward_calls_total", outcome="minted") == 2
    assert found.value("framemesh_reward_calls_total", outcome="refused") == 1
    assert found.value("framemesh_reward_minted_wei_total") == 150
    assert found.value("framemesh_rounds_initialized_total") == 1


def test_an_ai_request_for_a_pipeline_no_one_knows_is_not_a_label() -> None:
    m = OrchestratorMetrics()
    m.ai_request("text-to-image", "some/model", "ok")
    m.ai_request("made-up-pipeline-0123456789abcdef", None, "refused")
    found = Scrape(m.set.scrape().decode())
    assert found.value("framemesh_orchestrator_ai_requests_total", pipeline="text-to-image", model="some/model") == 1
    assert found.value("framemesh_orchestrator_ai_requests_total", pipeline="other", model="other", outcome="refused") == 1
    assert "made-up" not in found.text
