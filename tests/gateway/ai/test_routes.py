"""The gateway's AI API without any orchestrator: what it refuses by itself, and how."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from framemesh.gateway.app import create_app
from framemesh.gateway.config import GatewayConfig
from framemesh.wire.ai import AICapability


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(GatewayConfig(data_dir=tmp_path, api_token="tok"))
    with TestClient(app, headers={"Authorization": "Bearer tok"}) as c:
        yield c


def _offer(client: TestClient, pipeline: str, model_id: str) -> None:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    gateway.ai.directory.update(
        "http://o", [AICapability(pipeline=pipeline, model_id=model_id, warm=True, capacity=1, in_use=0, price_per_unit=1)]
    )


def test_nothing_offered_yet(client: TestClient) -> None:
    response = client.post("/text-to-image", json={"prompt": "a cat"})
    assert response.status_code == 404
    assert response.json()["detail"] == {"msg": "no orchestrator serves text-to-image yet", "code": "unknown_model", "models": []}
    assert client.post("/segment-anything-2", json={}).json()["detail"]["code"] == "unknown_pipeline"
    assert client.get("/ai/models").json() == []


def test_token_required(client: TestClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic tok"}):
        response = client.post("/text-to-speech", json={"text": "hi"}, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["detail"]["code"] == "unauthorized"


def test_bodies_that_cannot_be_a_request(client: TestClient) -> None:
    """Livepeer's shapes: 422 lists the fields at fault; 400 says why a well-formed request cannot run."""
    _offer(client, "text-to-image", "m")
    not_json = client.post("/text-to-image", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and not_json.json()["detail"][0]["type"] == "json_invalid"
    assert "JSON" in not_json.json()["detail"][0]["msg"]
    a_list = client.post("/text-to-image", json=[1, 2])
    assert a_list.status_code == 422 and a_list.json()["detail"][0]["loc"] == ["body"]
    wrong_type = client.post("/text-to-image", json={"prompt": "x", "width": "wide"})
    assert wrong_type.status_code == 422 and wrong_type.json()["detail"][0]["loc"] == ["body", "width"]
    huge = client.post("/text-to-image", json={"prompt": "x", "width": 4096, "height": 4096})
    assert huge.status_code == 400 and "4096" in huge.json()["detail"]["msg"]
    assert huge.json()["detail"]["code"] == "invalid_request"
    string_image = client.post("/image-to-image", json={"prompt": "x", "image": "aGVsbG8=", "model_id": "m"})
    assert string_image.status_code == 422 and string_image.json()["detail"][0]["loc"] == ["body", "image"]
    assert "uploaded file" in string_image.json()["detail"][0]["msg"]


def test_the_documented_error_shapes_are_livepeers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/text-to-image"]["post"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/HTTPValidationError")
    for status in ("400", "401", "500"):
        assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/HTTPError"), status
    item = spec["components"]["schemas"]["ValidationErrorItem"]
    assert set(item["required"]) == {"loc", "msg", "type"}


def test_a_model_nobody_serves_lists_the_offers(client: TestClient) -> None:
    _offer(client, "upscale", "realesrgan/x2")
    response = client.post("/text-to-image", json={"prompt": "x", "model_id": "m", "width": 64, "height": 64})
    assert response.status_code == 404
    assert response.json()["detail"]["models"] == [{"pipeline": "upscale", "model_id": "realesrgan/x2"}]
    assert "upscale 'realesrgan/x2'" in response.json()["detail"]["msg"]


@pytest.mark.parametrize(
    "method, path",
    [("GET", "/jobs"), ("GET", "/jobs/x"), ("POST", "/jobs"), ("GET", "/ai/jobs"), ("GET", "/orchestrators"),
     ("GET", "/payments"), ("GET", "/provenance/x.png"), ("POST", "/llm")],
)
def test_the_token_guards_every_route_that_spends_or_shows(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, headers={"Authorization": ""}, files={"file": ("a.mp4", b"\0" * 100)} if method == "POST" else None)
    assert response.status_code == 401, (path, response.text)
    assert response.json()["detail"]["code"] == "unauthorized"
    assert client.request(method, path).status_code != 401, "with the token it gets past the door"


def test_probes_and_outputs_are_open(client: TestClient) -> None:
    for path in ("/healthz", "/openapi.json"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 200, path
    assert client.get("/outputs/nothing.png", headers={"Authorization": ""}).status_code == 404
