"""What the fuzz of the gateway's API found (tests/e2e/test_fuzz.py), each pinned down:
a 4xx with the one error body, never a 500 (#12)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.nodes import gateway_thread

ADMIN = {"Authorization": "Bearer admin-token"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = gateway_thread(tmp_path_factory.mktemp("bad"), [], admin_token="admin-token")
    yield server.url
    server.stop()


def detail(response: httpx.Response) -> dict[str, str]:
    body = response.json()["detail"]
    assert isinstance(body["msg"], str) and body["msg"] and isinstance(body["code"], str)
    return body


@pytest.mark.parametrize("path", ["/jobs", "/ai/jobs", "/streams"])
def test_a_page_past_any_database_is_refused(gateway: str, path: str) -> None:
    # SQLite's integers end at 2**63 - 1: past it the query could not even be asked (was a 500).
    response = httpx.get(gateway + path, params={"offset": 2**63}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert "offset" in detail(response)["msg"]
    assert httpx.get(gateway + path, params={"offset": 2**63 - 1}, headers=ADMIN).json() == []


@pytest.mark.parametrize("name", ["².ts", "١.ts", "9" * 19 + ".ts", "x.ts", "1.exe"])
def test_a_pushed_segment_needs_a_plain_number(gateway: str, name: str) -> None:
    key = httpx.post(gateway + "/streams", json={}, headers=ADMIN).json()["stream_key"]
    response = httpx.put(f"{gateway}/live/{key}/{name}", content=b"x")  # '²'.isdigit() was a 500
    assert response.status_code == 422, response.text
    assert detail(response)["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("path", "body"),
    [("/streams", {"record": 0}), ("/streams", {"name": 5}), ("/admin/keys", {"name": "k", "concurrency": "4"}),
     ("/admin/keys", {"name": "k", "concurrency": 1.5})],
)
def test_a_settings_body_is_read_strictly(gateway: str, path: str, body: dict[str, object]) -> None:
    response = httpx.post(gateway + path, json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert detail(response)["code"] == "invalid_request"


@pytest.mark.parametrize("path", ["/streams", "/admin/keys"])
@pytest.mark.parametrize("how", ["declared", "chunked"])
def test_a_settings_body_is_held_to_its_limit(gateway: str, path: str, how: str) -> None:
    data = json.dumps({"name": "x" * 100_000}).encode()
    content = data if how == "declared" else iter([data[:50_000], data[50_000:]])
    response = httpx.post(gateway + path, content=content, headers={**ADMIN, "content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert detail(response)["code"] == "too_large"


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]"])
def test_a_settings_body_that_is_not_an_object_is_a_422(gateway: str, body: bytes) -> None:
    response = httpx.post(gateway + "/streams", content=body, headers={**ADMIN, "content-type": "application/json"})
    assert response.status_code == 422, response.text
    detail(response)


def test_a_405_names_every_method_of_the_path(gateway: str) -> None:
    response = httpx.request("OPTIONS", gateway + "/jobs", headers=ADMIN)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert httpx.request("OPTIONS", gateway + "/healthz").headers["allow"] == "GET", "not the catch-all POST /{pipeline}"


def test_every_documented_error_is_the_one_body(gateway: str) -> None:
    spec = httpx.get(gateway + "/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    refs = json.dumps(response.get("content", {}))
                    assert "ErrorBody" in refs or "HTTPError" in refs or "HTTPValidationError" in refs, (
                        f"{method.upper()} {path} {status}: {refs}")
