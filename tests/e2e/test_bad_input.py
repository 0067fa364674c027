"""Bad input gets a 4xx with a JSON body that says what is wrong, and hurts nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from framemesh.sdk.client import GatewayClient
from tests.e2e.clips import PROFILES
from tests.e2e.nodes import gateway_thread, orchestrator_thread


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, clip: Path):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("bad-input")
    orch = orchestrator_thread(root, "o1")
    gw = gateway_thread(root, [orch.url], max_upload_bytes=clip.stat().st_size + 1024)
    yield gw.url, orch.url
    gw.stop()
    orch.stop()


def _msg(response: httpx.Response) -> str:
    body = response.json()
    assert isinstance(body["detail"]["msg"], str) and body["detail"]["msg"]
    return body["detail"]["msg"]


def _upload(gw: str, name: str, data: bytes, content_type: str = "video/mp4", profiles: str = PROFILES) -> httpx.Response:
    return httpx.post(f"{gw}/jobs", files={"file": (name, data, content_type)}, data={"profiles": profiles}, timeout=30)


@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "words"),
    [
        ("notes.mp4", b"this is not a video at all\n" * 50, "video/mp4", 422, "video"),
        ("empty.mp4", b"", "video/mp4", 422, "empty"),
        ("notes.txt", b"hello", "text/plain", 415, "must be a video"),
    ],
)
def test_gateway_refuses_bad_uploads(network, name, data, content_type, status, words) -> None:  # type: ignore[no-untyped-def]
    gw, _ = network
    response = _upload(gw, name, data, content_type)
    assert response.status_code == status
    assert words in _msg(response)


def test_truncated_video_is_refused(network, clip: Path) -> None:  # type: ignore[no-untyped-def]
    gw, _ = network
    response = _upload(gw, "cut.mp4", clip.read_bytes()[:2000])
    assert response.status_code == 422
    _msg(response)


def test_unknown_profile_is_refused_with_the_known_ones(network, clip: Path) -> None:  # type: ignore[no-untyped-def]
    gw, _ = network
    response = _upload(gw, "clip.mp4", clip.read_bytes(), profiles="360p,999p")
    assert response.status_code == 422
    msg = _msg(response)
    assert "999p" in msg and "720p" in msg


def test_too_large_is_refused(network, clip: Path) -> None:  # type: ignore[no-untyped-def]
    gw, _ = network
    response = _upload(gw, "big.mp4", clip.read_bytes() + b"\0" * 4096)
    assert response.status_code == 413
    assert "limit" in _msg(response)


def test_not_multipart_is_refused(network) -> None:  # type: ignore[no-untyped-def]
    gw, _ = network
    response = httpx.post(f"{gw}/jobs", content=b"{}", headers={"content-type": "application/json"})
    assert response.status_code == 415
    assert "multipart" in _msg(response)


def test_missing_file_field(network) -> None:  # type: ignore[no-untyped-def]
    gw, _ = network
    response = httpx.post(f"{gw}/jobs", data={"profiles": "360p"}, files={"other": ("x", b"1", "video/mp4")})
    assert response.status_code == 422
    assert "'file'" in _msg(response)


def test_unknown_job_is_404(network) -> None:  # type: ignore[no-untyped-def]
    gw, _ = network
    response = httpx.get(f"{gw}/jobs/doesnotexist")
    assert response.status_code == 404
    assert "doesnotexist" in _msg(response)


def test_bad_input_does_not_hurt_a_running_job(network, clip: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gw, _ = network

    async def go():  # type: ignore[no-untyped-def]
        async with GatewayClient(gw) as client:
            job = await client.submit(clip, PROFILES)
            for _ in range(3):
                assert _upload(gw, "junk.mp4", b"junk" * 100).status_code == 422
            return await client.wait(job.id, timeout=120)

    status = asyncio.run(go())
    assert status.state == "completed", status.error
    assert httpx.get(f"{gw}/healthz").status_code == 200


# the orchestrator's own edge


def test_orchestrator_refuses_garbage_segment(network) -> None:  # type: ignore[no-untyped-def]
    _, orch = network
    response = httpx.post(
        f"{orch}/transcode", params={"profiles": "360p"}, content=b"garbage" * 100,
        headers={"content-type": "video/x-matroska"},
    )
    assert response.status_code == 422
    _msg(response)
    assert httpx.get(f"{orch}/info").json()["load"] == 0, "a refused job must give its slot back"


@pytest.mark.parametrize(
    ("params", "content_type", "status"),
    [
        ({"profiles": "4000p"}, "video/x-matroska", 422),
        ({"profiles": "360p"}, "text/plain", 415),
        ({}, "video/x-matroska", 422),
    ],
)
def test_orchestrator_refuses_bad_requests(network, params, content_type, status) -> None:  # type: ignore[no-untyped-def]
    _, orch = network
    response = httpx.post(f"{orch}/transcode", params=params, content=b"x", headers={"content-type": content_type})
    assert response.status_code == status
    _msg(response)


def test_orchestrator_at_capacity_says_busy_at_once(tmp_path: Path) -> None:
    node = orchestrator_thread(tmp_path, "small", capacity=1)
    try:
        limiter = node.app.state.orchestrator.limiter
        assert limiter.try_acquire()  # a job is running
        response = httpx.post(
            f"{node.url}/transcode", params={"profiles": "360p"}, content=b"x" * 10,
            headers={"content-type": "video/x-matroska"},
        )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert "capacity" in _msg(response)
        limiter.release()
        assert httpx.get(f"{node.url}/readyz").json()["ready"] is True
    finally:
        node.stop()


def test_orchestrator_refuses_oversized_segment(tmp_path: Path) -> None:
    from framemesh.net.server import ServerThread
    from framemesh.orchestrator.app import create_app
    from framemesh.orchestrator.config import OrchestratorConfig

    node = ServerThread(create_app(OrchestratorConfig(data_dir=tmp_path, max_segment_bytes=1000))).start()
    try:
        response = httpx.post(
            f"{node.url}/transcode", params={"profiles": "360p"}, content=b"x" * 5000,
            headers={"content-type": "video/x-matroska"},
        )
        assert response.status_code == 413
        assert "limit" in _msg(response)
    finally:
        node.stop()
