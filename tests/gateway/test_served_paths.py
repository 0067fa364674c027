"""No file outside its folder is ever served, and no path a client sends is a 500:
`..` raw or encoded, absolute paths, symlinks out, names too long for the file system,
NUL bytes, on /outputs/, /provenance/ and /streams/{id}/... (#12). Each with the local
folder and with an object store (SeaweedFS): its redirects change none of it."""

from __future__ import annotations

import asyncio
import http.client
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.nodes import gateway_thread


@pytest.fixture(scope="module", params=["local", "store"])
def gateway(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, bool]]:
    root = tmp_path_factory.mktemp("paths")
    store = {}
    if request.param == "store":
        s3 = request.getfixturevalue("s3_server")
        store = {"object_store": s3.location(s3.bucket(f"paths-{uuid.uuid4().hex[:12]}"))}
    server = gateway_thread(root, [], **store)
    outputs = root / "gateway" / "outputs"
    (root / "secret.txt").write_text("TOP-SECRET-BYTES")
    (outputs / "live" / "s1").mkdir(parents=True)
    (outputs / "live" / "s1" / "a.ts").write_text("segment")
    (outputs / "live" / "s1" / "out.ts").symlink_to(root / "secret.txt")
    (outputs / "ai" / "j1").mkdir(parents=True)
    (outputs / "ai" / "j1" / "x.png").write_text("OTHER-JOBS-IMAGE")
    (outputs / "out.txt").symlink_to(root / "secret.txt")
    if store:  # the outputs a client may fetch are in the store too
        uploader = server.app.state.gateway.uploader
        asyncio.run(uploader.add([outputs / "live" / "s1" / "a.ts", outputs / "ai" / "j1" / "x.png"]))
        asyncio.run(uploader.pass_once())
        assert uploader.stored("ai/j1/x.png")
    yield server.url, root, bool(store)
    server.stop()


def get(url: str, raw_path: str) -> tuple[int, bytes]:
    """GET the path exactly as written (no client folds `..` away first)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", raw_path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_streams_own_file_is_served(gateway: tuple[str, Path, bool]) -> None:
    for path, data in (("/streams/s1/a.ts", b"segment"), ("/outputs/ai/j1/x.png", b"OTHER-JOBS-IMAGE")):
        answer = httpx.get(gateway[0] + path, follow_redirects=True, timeout=10)
        assert answer.status_code == 200 and answer.content == data
        redirected = [r.status_code for r in answer.history] == [307] and "X-Amz-Signature=" in str(answer.url)
        assert redirected == gateway[2], "fetched from the store exactly when there is one"


@pytest.mark.parametrize(
    "path",
    [
        "/streams/../ai/j1/x.png",
        "/streams/%2e%2e/ai/j1/x.png",
        "/streams/s1/../../ai/j1/x.png",
        "/streams/s1/%2e%2e/%2e%2e/ai/j1/x.png",
        "/streams/s1/..%2f..%2fai/j1/x.png",
        "/streams/s1/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/streams/s1/%2Fetc%2Fpasswd",
        "/streams/s1/out.ts",
        "/provenance/..%2f..%2fsecret.txt",
        "/provenance/%2e%2e/%2e%2e/secret.txt",
        "/provenance/%2Fetc%2Fpasswd",
        "/provenance/out.txt",
        "/outputs/%2e%2e/%2e%2e/secret.txt",
        "/outputs/..%2f..%2fsecret.txt",
        "/outputs/out.txt",
    ],
)
def test_nothing_outside_its_folder_is_served(gateway: tuple[str, Path, bool], path: str) -> None:
    status, body = get(gateway[0], path)
    assert status == 404, body
    assert b"TOP-SECRET-BYTES" not in body and b"OTHER-JOBS-IMAGE" not in body


@pytest.mark.parametrize(
    "path",
    ["/provenance/" + "a" * 300, "/provenance/a%00b", "/streams/s1/" + "a" * 300, "/streams/s1/a%00b",
     "/streams/a%00/b", "/outputs/" + "a" * 300, "/outputs/a%00b"],
)
def test_a_name_no_file_can_have_is_a_404(gateway: tuple[str, Path, bool], path: str) -> None:
    status, body = get(gateway[0], path)
    assert status == 404, body
    assert b'"detail"' in body
