"""Body limits hold however a body is sent: with a Content-Length, or chunked with
none (B4). Real nodes on loopback, real uvicorn, bodies streamed by httpx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from framemesh.gateway.app import create_app as create_gateway
from framemesh.gateway.config import GatewayConfig
from framemesh.net.server import ServerThread
from framemesh.ai import AIConfig
from framemesh.net.api_errors import install_error_handlers
from framemesh.orchestrator.ai_routes import AIService, install_ai_routes

BIG = 300 * 1024  # past every limit below, form overhead (64 KiB) included


def chunked(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    """The body as a generator: httpx sends it chunked, with no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


def multipart(field: str, payload: bytes, boundary: str = "b0undary") -> tuple[bytes, dict[str, str]]:
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"x.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = GatewayConfig(data_dir=tmp_path_factory.mktemp("gw"), ai_max_upload_bytes=1000, max_upload_bytes=1000, open=True)
    with ServerThread(create_gateway(config)) as server:
        yield server.url


def big_json() -> bytes:
    return json.dumps({"prompt": "x" * BIG, "model_id": "m"}).encode()


@pytest.mark.parametrize("path", ["/text-to-image", "/llm", "/ai/jobs"])
@pytest.mark.parametrize("how", ["declared", "chunked"])
def test_a_json_body_over_the_limit_is_refused(gateway: str, path: str, how: str) -> None:
    data = big_json()
    content = data if how == "declared" else chunked(data)
    response = httpx.post(gateway + path, content=content, headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 413, response.text
    assert response.json()["detail"]["code"] == "too_large"


def test_a_chunked_body_under_the_limit_is_read(gateway: str) -> None:
    data = json.dumps({"prompt": "a cat", "width": 64, "height": 64}).encode()
    response = httpx.post(gateway + "/text-to-image", content=chunked(data, 7), headers={"content-type": "application/json"})
    assert response.status_code == 404 and response.json()["detail"]["code"] == "unknown_model", "read, parsed, no one serves it"


@pytest.mark.parametrize("path, field", [("/upscale", "image"), ("/jobs", "file"), ("/ai/jobs", "image")])
def test_a_chunked_upload_over_the_limit_is_refused(gateway: str, path: str, field: str) -> None:
    body, headers = multipart(field, b"\0" * BIG)
    response = httpx.post(gateway + path, content=chunked(body), headers=headers, timeout=30)
    assert response.status_code == 413, response.text
    assert response.json()["detail"]["code"] == "too_large"


@pytest.fixture
def orchestrator_ai(tmp_path: Path) -> Iterator[str]:
    """An orchestrator's AI route on a real AIService that serves no model: the body is
    read (and limited) before any model is looked up."""
    service = AIService(
        AIConfig(models=()), name="o", work_root=tmp_path / "ai", signing=None, billing=None,  # type: ignore[arg-type]
        run_in_pool=None, max_request_bytes=100 * 1024,  # type: ignore[arg-type]
    )
    app = FastAPI()
    install_error_handlers(app)
    install_ai_routes(app, service)
    with ServerThread(app) as server:
        yield server.url


@pytest.mark.parametrize("how", ["declared", "chunked"])
def test_the_orchestrators_ai_form_is_held_to_its_limit(orchestrator_ai: str, how: str) -> None:
    body, headers = multipart("image", b"\0" * BIG)
    content = body if how == "declared" else chunked(body)
    response = httpx.post(orchestrator_ai + "/ai/upscale", content=content, headers=headers, timeout=30)
    assert response.status_code == 413, response.text
    assert response.json()["detail"]["code"] == "too_large"


def test_the_orchestrators_ai_form_under_its_limit_is_read(orchestrator_ai: str) -> None:
    form = {"request": json.dumps({"model_id": "m"})}
    response = httpx.post(orchestrator_ai + "/ai/upscale", data=form, files={"image": ("x.png", b"\0" * 1000)})
    assert response.status_code == 404 and response.json()["detail"]["code"] == "unknown_model"
