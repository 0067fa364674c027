"""The gateway's /metrics: the operator's (a scraper sends its token), and what is
counted without orchestrators (refusals, the line). Work through real orchestrators is
checked in tests/e2e (test_onchain, test_live, test_ai_onchain)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from framemesh.gateway.app import create_app
from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.core.waiting import WaitLine
from framemesh.gateway.metrics import GatewayMetrics
from tests.e2e.scrape import Scrape, id_like_labels

ADMIN, TOKEN = "adm-secret", "ops-token"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    config = GatewayConfig(data_dir=tmp_path, admin_token=ADMIN, api_token=TOKEN)
    with TestClient(create_app(config)) as c:
        yield c


def test_metrics_are_the_operators(client: TestClient) -> None:
    key = client.post("/admin/keys", json={"name": "alice"}, headers=bearer(ADMIN)).json()["key"]
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("fmk_not_a_key")).status_code == 401
    refused = client.get("/metrics", headers=bearer(key))
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "operator_only"
    for token in (TOKEN, ADMIN):
        response = client.get("/metrics", headers=bearer(token))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        assert Scrape(response.text).value("framemesh_build_info", role="gateway") == 1


def test_an_open_gateway_serves_them_to_anyone(tmp_path: Path) -> None:
    with TestClient(create_app(GatewayConfig(data_dir=tmp_path, open=True))) as client:
        assert client.get("/metrics").status_code == 200


def test_a_model_no_one_serves_is_counted_as_other(client: TestClient) -> None:
    asked = "evil/0123456789abcdef0123456789"
    for path, body in (("/text-to-image", {"prompt": "a cat", "model_id": asked}),
                       ("/llm", {"messages": [{"role": "user", "content": "hi"}], "model": asked})):
        assert client.post(path, json=body, headers=bearer(TOKEN)).status_code == 404
    found = Scrape(client.get("/metrics", headers=bearer(TOKEN)).text)
    for pipeline in ("text-to-image", "llm"):
        assert found.value("framemesh_gateway_ai_requests_total", pipeline=pipeline, model="other",
                           outcome="no_orchestrator") == 1
    assert asked not in found.text and id_like_labels(found) == []


def test_the_pool_and_the_line_are_read_when_scraped(tmp_path: Path) -> None:
    config = GatewayConfig(data_dir=tmp_path, open=True, orchestrators=("http://127.0.0.1:9",), queue_limit=7)
    with TestClient(create_app(config)) as client:
        found = Scrape(client.get("/metrics").text)
    assert found.value("framemesh_gateway_orchestrators", state="unknown") == 1  # nothing listens on port 9
    assert found.value("framemesh_gateway_orchestrators") == 1
    assert found.value("framemesh_gateway_queue_limit") == 7
    assert found.value("framemesh_gateway_queue_waiting") == 0
    # off-chain: no payments, no chain
    assert found.families["framemesh_tickets_sent"].samples == []
    assert found.families["framemesh_gateway_deposit_wei"].samples == []


def test_each_wait_in_the_line_is_observed() -> None:
    metrics = GatewayMetrics()
    line = WaitLine(limit=10, on_served=metrics.waited)
    free = asyncio.Event()

    async def go() -> None:
        async def now() -> str:
            return "o1"

        async def when_free() -> str | None:
            return "o1" if free.is_set() else None

        assert await line.serve("k", None, now) == "o1"  # a free slot: waited 0
        waiter = asyncio.create_task(line.serve("k", None, when_free))
        await asyncio.sleep(0.05)
        free.set()
        line.wake()
        assert await waiter == "o1"

    asyncio.run(go())
    found = Scrape(metrics.set.scrape().decode())
    assert found.value("framemesh_gateway_queue_wait_seconds_count") == 2 == line.stats.served
    assert found.value("framemesh_gateway_queue_wait_seconds_bucket", le="0.001") == 1  # the one that did not wait
    assert found.value("framemesh_gateway_queue_wait_seconds_sum") == pytest.approx(line.stats.wait_total)


def test_a_segment_try_gives_its_round_trip_and_real_time_ratio() -> None:
    metrics = GatewayMetrics()
    metrics.segment_try("live", "http://o1", "ok", seconds=1.0, duration=2.0)
    metrics.segment_try("live", "http://o1", "timeout")
    found = Scrape(metrics.set.scrape().decode())
    assert found.value("framemesh_gateway_segment_tries_total", kind="live", orchestrator="http://o1") == 2
    assert found.value("framemesh_gateway_segment_round_trip_seconds_count", kind="live") == 1
    assert found.value("framemesh_gateway_segment_realtime_ratio_sum", kind="live") == 2.0
    assert found.value("framemesh_gateway_segment_realtime_ratio_bucket", kind="live", le="1.5") == 0
    assert found.value("framemesh_gateway_segment_realtime_ratio_bucket", kind="live", le="2.0") == 1
