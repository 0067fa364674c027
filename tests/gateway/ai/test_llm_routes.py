"""The gateway's `POST /llm` without a working orchestrator: what it refuses by itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from framemesh.gateway.app import create_app
from framemesh.ai.requests import LLMRequest
from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.ai.llm_dispatch import LLMDispatcher
from framemesh.wire.ai import AICapability

LLM = "framemesh/tiny-llm"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(GatewayConfig(data_dir=tmp_path, api_token="tok", ai_timeout=5.0))
    with TestClient(app, headers={"Authorization": "Bearer tok"}) as c:
        yield c


def _offer(client: TestClient, url: str = "http://127.0.0.1:9") -> None:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    gateway.ai.directory.update(
        url, [AICapability(pipeline="llm", model_id=LLM, warm=True, capacity=1, in_use=0, price_per_unit=1)]
    )


def test_nothing_offered_yet(client: TestClient) -> None:
    response = client.post("/llm", json=HELLO)
    assert response.status_code == 404
    assert response.json()["detail"] == {
        "msg": "no orchestrator serves llm yet; the network offers: nothing yet", "code": "unknown_model", "models": [],
    }


def test_token_required(client: TestClient) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}):
        response = client.post("/llm", json=HELLO, headers=headers)
        assert response.status_code == 401 and response.json()["detail"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"messages": []}, 400, "messages is empty"),
        ({"messages": "hello"}, 422, "messages"),
        ({"messages": [{"role": "user"}]}, 422, "content"),
        ({**HELLO, "max_tokens": 5000}, 400, "max_tokens must be 1..4096"),
        ({**HELLO, "temperature": "hot"}, 422, "temperature"),
        ({**HELLO, "top_k": 0}, 400, "top_k must be -1 (off) or >= 1"),
        ({**HELLO, "seed": 2**32}, 400, "seed must be"),
    ],
)
def test_bodies_that_cannot_run_get_livepeers_shapes(client: TestClient, body: dict[str, object], status: int, words: str) -> None:
    """A field missing or of the wrong type: 422, the validation list; a well-formed
    request that cannot run: 400, {"detail": {"msg", "code"}}. As Livepeer publishes."""
    _offer(client)
    response = client.post("/llm", json=body)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    if status == 422:
        assert isinstance(detail, list) and all(set(e) == {"loc", "msg", "type"} and e["loc"][0] == "body" for e in detail)
        assert any(words in ".".join(map(str, e["loc"])) or words in e["msg"] for e in detail), detail
    else:
        assert detail["code"] == "invalid_request" and words in detail["msg"]


def test_livepeer_clients_empty_strings_mean_defaults(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    _offer(client)
    sent: list[Any] = []
    real_open = LLMDispatcher.open

    async def recording_open(self: LLMDispatcher, model_id: str, request: Any, *args: Any, **kw: Any) -> Any:
        sent.append((model_id, request))
        return await real_open(self, model_id, request, *args, **kw)

    monkeypatch.setattr(LLMDispatcher, "open", recording_open)
    response = client.post("/llm", json={**HELLO, "model": "", "seed": "", "max_tokens": ""})
    assert response.status_code == 503, "checked and sent on (to an orchestrator that is not there)"
    (model_id, request), = sent
    defaults = LLMRequest(messages=request.messages)
    assert model_id == LLM, "no model: the one the network offers"
    assert (request.max_tokens, request.seed, request.temperature) == (defaults.max_tokens, None, defaults.temperature)


def test_an_unreachable_orchestrator_is_503_streaming_or_not(client: TestClient) -> None:
    _offer(client)
    for stream in (False, True):
        response = client.post("/llm", json={**HELLO, "stream": stream})
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert "failed on every orchestrator tried" in response.json()["detail"]["msg"]


def test_a_model_nobody_serves_lists_the_offers(client: TestClient) -> None:
    _offer(client)
    response = client.post("/llm", json={**HELLO, "model": "other/model"})
    assert response.status_code == 404
    assert response.json()["detail"]["models"] == [{"pipeline": "llm", "model_id": LLM}]


def test_the_documented_defaults_are_the_ones_used() -> None:
    import dataclasses

    from framemesh.ai.requests import LLMRequest
    from framemesh.wire.ai import LLMParams

    used = {f.name: f.default for f in dataclasses.fields(LLMRequest) if f.name != "messages"}
    documented = {name: f.default for name, f in LLMParams.model_fields.items() if name != "messages"}
    assert documented == used
