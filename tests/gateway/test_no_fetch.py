"""The gateway never fetches a URL a client gives it (no server-side request forgery):
a URL where a file belongs is refused, and nothing is asked of that address."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from framemesh.gateway.app import create_app
from framemesh.gateway.config import GatewayConfig
from framemesh.wire.ai import AICapability


@pytest.fixture
def bait() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server that records every request made to it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"\x89PNG")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_a_url_where_a_file_belongs_is_refused_and_never_fetched(tmp_path: Path, bait: tuple[str, list[str]]) -> None:
    url, hits = bait
    with TestClient(create_app(GatewayConfig(data_dir=tmp_path, open=True))) as client:
        # an orchestrator that serves these models, as far as the gateway knows: the
        # requests are judged on what they carry, not refused for want of a model
        served = [("image-to-image", "tiny/i2i"), ("upscale", "realesrgan/x2"), ("audio-to-text", "sphinx")]
        client.app.state.gateway.ai.directory.update("http://127.0.0.1:9", [  # type: ignore[attr-defined]
            AICapability(pipeline=p, model_id=m, warm=True, capacity=1, in_use=0, price_per_unit=1) for p, m in served
        ])
        answers = [
            client.post("/image-to-image", data={"prompt": "x", "model_id": "tiny/i2i", "image": f"{url}/a.png"}),
            client.post("/upscale", data={"model_id": "realesrgan/x2", "image": f"{url}/b.png"}),
            client.post("/audio-to-text", data={"model_id": "sphinx", "audio": f"{url}/c.wav"}),
            client.post("/ai/jobs", json={"stages": [{"pipeline": "upscale", "model_id": "realesrgan/x2",
                                                      "params": {"image": f"{url}/d.png"}}]}),
            client.post("/jobs", data={"profiles": "240p", "url": f"{url}/e.mp4"}),
        ]
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 415], [a.text[:150] for a in answers]
    assert hits == [], f"the gateway fetched a client's URL: {hits}"
