"""API keys at the gateway's door: who gets in, within which limits, and who sees
which jobs. A real gateway app and its SQLite file; no orchestrators (nothing here
runs work: the usage a limit reads is recorded as the runners record it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from framemesh.gateway.ai.jobs import StagePlan
from framemesh.gateway.app import create_app
from framemesh.gateway.config import GatewayConfig

ADMIN = {"Authorization": "Bearer adm-secret"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(GatewayConfig(data_dir=tmp_path, admin_token="adm-secret"))) as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_key(client: TestClient, name: str, **limits: object) -> dict:
    response = client.post("/admin/keys", json={"name": name, **limits}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_missing_unknown_or_revoked_key_is_a_401_that_says_which(client: TestClient) -> None:
    key = make_key(client, "alice")
    assert client.get("/jobs", headers=bearer(key["key"])).status_code == 200
    missing = client.get("/jobs")
    unknown = client.get("/jobs", headers=bearer("fmk_nobody"))
    assert client.delete(f"/admin/keys/{key['id']}", headers=ADMIN).json()["revoked"] is not None
    revoked = client.get("/jobs", headers=bearer(key["key"]))
    for response, words in ((missing, "needs an API key"), (unknown, "unknown API key"), (revoked, "was revoked")):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert words in response.json()["detail"]["msg"]
    assert "alice" in revoked.json()["detail"]["msg"]
    # the open parts stay open: health, the API description
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_a_key_is_shown_once_and_kept_only_as_a_digest(client: TestClient, tmp_path: Path) -> None:
    key = make_key(client, "bob", spend_limit="0.1 ETH/day", rate="5/s", concurrency=4)
    assert key["key"].startswith("fmk_") and len(key["key"]) > 30
    assert key["spend_limit"] and key["rate"] == 5.0 and key["concurrency"] == 4
    listed = client.get("/admin/keys", headers=ADMIN)
    assert [k["id"] for k in listed.json()] == [key["id"]]
    assert key["key"] not in listed.text, "a key is shown once, at its creation"
    gateway_file = b"".join(p.read_bytes() for p in tmp_path.rglob("*.sqlite*"))
    assert gateway_file and key["key"].encode() not in gateway_file, "the file keeps the digest, not the key"


def test_the_admin_api_takes_the_admin_token_and_bad_limits_are_422(client: TestClient, tmp_path: Path) -> None:
    key = make_key(client, "carol")
    assert client.get("/admin/keys").status_code == 401
    assert client.get("/admin/keys", headers=bearer(key["key"])).status_code == 401, "a key is not the admin token"
    bad = client.post("/admin/keys", json={"name": "x", "spend_limit": "lots"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "invalid_limit"
    assert client.delete("/admin/keys/nope", headers=ADMIN).status_code == 404
    with TestClient(create_app(GatewayConfig(data_dir=tmp_path / "other", open=True))) as no_admin:
        response = no_admin.get("/admin/keys", headers=ADMIN)
        assert response.status_code == 404 and "--admin-token" in response.json()["detail"]["msg"]


def test_over_its_rate_a_key_gets_a_429_with_retry_after(client: TestClient) -> None:
    key = make_key(client, "dave", rate="1/min")
    answers = [client.get("/jobs", headers=bearer(key["key"])) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    refused = answers[-1]
    assert refused.json()["detail"]["code"] == "rate_limit"
    assert int(refused.headers["retry-after"]) >= 50, "the next request is allowed a minute after the first"
    assert "may make 1/min requests; retry in" in refused.json()["detail"]["msg"]
    other = make_key(client, "erin", rate="1/min")
    assert client.get("/jobs", headers=bearer(other["key"])).status_code == 200, "each key has its own bucket"


def test_over_its_concurrency_a_key_gets_a_429(client: TestClient) -> None:
    key = make_key(client, "frank", concurrency=1)
    access = client.app.state.gateway.access  # type: ignore[attr-defined]
    access.in_flight[key["id"]] = 1  # one request of this key is running
    refused = client.get("/jobs", headers=bearer(key["key"]))
    assert refused.status_code == 429 and refused.json()["detail"]["code"] == "too_many_at_once"
    assert refused.headers["retry-after"] == "1"
    access.in_flight[key["id"]] = 0
    assert client.get("/jobs", headers=bearer(key["key"])).status_code == 200
    assert access.in_flight[key["id"]] == 0, "a request gives its slot back when it ends"


def test_over_its_spend_limit_a_key_gets_a_402_that_says_when_it_may_spend_again(client: TestClient) -> None:
    key = make_key(client, "grace", spend_limit="1000 wei/hour")
    keys = client.app.state.gateway.keys  # type: ignore[attr-defined]
    keys.record(key["id"], "ai", "j1", 1, 600)
    assert client.get("/jobs", headers=bearer(key["key"])).status_code == 200, "600 of 1000: still allowed"
    keys.record(key["id"], "ai", "j2", 1, 500)
    before = time.time()
    refused = client.get("/jobs", headers=bearer(key["key"]))
    assert refused.status_code == 402
    detail = refused.json()["detail"]
    assert detail["code"] == "spend_limit" and detail["spent"] == "1100" and detail["limit"] == "1000"
    # spending drops below the limit when the first 600 wei leave the hour
    assert before + 3500 < detail["resets_at"] <= time.time() + 3600
    assert "UTC" in detail["msg"] and int(refused.headers["retry-after"]) > 3500
    usage = client.get("/usage", headers=bearer(key["key"]))
    assert usage.status_code == 200 and usage.json()["usage"]["wei"] == "1100", "its usage, even over its limit"
    listed = client.get("/admin/keys", headers=ADMIN).json()[0]["usage"]
    assert listed == {"requests": 2, "units": 2, "wei": "1100", "by_kind": {"ai": "1100"}, "spent_in_window": "1100"}


def test_usage_shows_the_callers_own_key(client: TestClient) -> None:
    key = make_key(client, "heidi")
    other = make_key(client, "ivan")
    keys = client.app.state.gateway.keys  # type: ignore[attr-defined]
    keys.claim(key["id"], "transcode", "job-h")
    keys.charge("job-h", 921_600, 42)
    keys.charge("job-nobodys", 1, 7)  # a job without a key is the operator's: no one's usage
    mine = client.get("/usage", headers=bearer(key["key"])).json()
    assert mine["id"] == key["id"] and "key" not in mine
    assert mine["usage"] == {"requests": 1, "units": 921_600, "wei": "42", "by_kind": {"transcode": "42"},
                             "spent_in_window": None}
    assert client.get("/usage", headers=bearer(other["key"])).json()["usage"]["wei"] == "0"
    assert client.get("/usage", headers=ADMIN).json() is None, "the operator has no key"


def test_a_key_sees_only_its_own_jobs(client: TestClient, tmp_path: Path) -> None:
    alice, bob = make_key(client, "alice"), make_key(client, "bob")
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    gateway.store.add_job("vod-a", ("240p",), tmp_path / "a.mp4", "a.mp4")
    gateway.keys.claim(alice["id"], "transcode", "vod-a")
    gateway.store.add_job("vod-b", ("240p",), tmp_path / "b.mp4", "b.mp4")
    gateway.keys.claim(bob["id"], "transcode", "vod-b")
    gateway.ai_store.add_job("ai-a", "stages", [StagePlan("text-to-speech", "piper", {"text": "hi"})])
    gateway.keys.claim(alice["id"], "ai", "ai-a")

    assert [j["id"] for j in client.get("/jobs", headers=bearer(alice["key"])).json()] == ["vod-a"]
    assert [j["id"] for j in client.get("/jobs", headers=bearer(bob["key"])).json()] == ["vod-b"]
    assert client.get("/jobs/vod-a", headers=bearer(alice["key"])).status_code == 200
    assert client.get("/jobs/vod-a", headers=bearer(bob["key"])).status_code == 404, "as if it did not exist"
    assert [j["id"] for j in client.get("/ai/jobs", headers=bearer(alice["key"])).json()] == ["ai-a"]
    assert client.get("/ai/jobs", headers=bearer(bob["key"])).json() == []
    assert client.get("/ai/jobs/ai-a", headers=bearer(bob["key"])).status_code == 404
    assert client.delete("/ai/jobs/ai-a", headers=bearer(bob["key"])).status_code == 404
    assert gateway.ai_store.job("ai-a").state.value == "queued", "bob's cancel did nothing"
    assert client.delete("/ai/jobs/ai-a", headers=bearer(alice["key"])).json()["state"] == "cancelled"

    stream = client.post("/streams", json={"name": "alice's show"}, headers=bearer(alice["key"])).json()
    assert [s["id"] for s in client.get("/streams", headers=bearer(alice["key"])).json()] == [stream["id"]]
    assert client.get("/streams", headers=bearer(bob["key"])).json() == []
    assert client.get(f"/streams/{stream['id']}", headers=bearer(bob["key"])).status_code == 404
    assert client.delete(f"/streams/{stream['id']}", headers=bearer(bob["key"])).status_code == 404
    assert client.get(f"/streams/{stream['id']}", headers=bearer(alice["key"])).json()["state"] != "ended"
    # the operator's token sees every job
    assert {j["id"] for j in client.get("/jobs", headers=ADMIN).json()} == {"vod-a", "vod-b"}


def test_the_operators_payments_are_not_shown_to_a_key(client: TestClient) -> None:
    key = make_key(client, "judy")
    refused = client.get("/payments", headers=bearer(key["key"]))
    assert refused.status_code == 403 and refused.json()["detail"]["code"] == "operator_only"
    assert client.get("/payments", headers=ADMIN).status_code == 200
    assert client.get("/queue", headers=bearer(key["key"])).status_code == 403
    queue = client.get("/queue", headers=ADMIN).json()
    assert queue["waiting"] == 0 and queue["limit"] == 1000 and queue["served"] == 0
