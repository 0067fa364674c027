"""AI nodes for end-to-end tests: tiny real models, an orchestrator serving them, and
stand-ins for orchestrators that fail (a dead worker, a dead node)."""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse

from framemesh.net.api_errors import ApiError, install_error_handlers
from framemesh.net.server import ServerThread
from framemesh.orchestrator.app import create_app as create_orchestrator
from framemesh.orchestrator.config import OrchestratorConfig
from framemesh.wire.ai import AICapability, AIOutput, AIResult, write_ai_bundle
from framemesh.wire.bundle import sha256_file
from framemesh.wire.orchestrator import Capabilities, OrchestratorInfo

SD = "framemesh/tiny-sd"
PIPER = "piper/en_US-joe-medium"
SPHINX = "pocketsphinx/en-us"


def write_models(root: Path, pipelines: tuple[str, ...], **overrides: object) -> Path:
    """Tiny models written by `framemesh.ai`'s own writer, and a models.toml serving only
    `pipelines` (each worker is a process that loads torch: fewer is faster)."""
    from framemesh.ai.tiny import write_tiny_models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = write_tiny_models(root)
    raw = tomllib.loads(full.read_text())
    lines = [f'cache_dir = "{raw.get("cache_dir", "cache")}"']
    for model in raw["models"]:
        if model["pipeline"] not in pipelines:
            continue
        lines.append("[[models]]")
        for key, value in {**model, **overrides}.items():
            lines.append(f"{key} = {_toml(value)}")
    out = root / "subset.toml"
    out.write_text("\n".join(lines) + "\n")
    return out


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def ai_orchestrator(root: Path, name: str, models: Path, **overrides: object) -> ServerThread:
    config = OrchestratorConfig(data_dir=root / name, name=name, capacity=1, ai_config=models, **overrides)  # type: ignore[arg-type]
    # The warm models load before the node serves: a worker process per model.
    return ServerThread(create_orchestrator(config)).start(timeout=600)


@contextmanager
def ai_network(root: Path, pipelines: tuple[str, ...]) -> Iterator[tuple[ServerThread, ServerThread]]:
    """An orchestrator serving tiny models of `pipelines` and a gateway in front of it."""
    from tests.e2e.nodes import gateway_thread

    orch = ai_orchestrator(root, "o1", write_models(root / "models", pipelines))
    gw = gateway_thread(root, [orch.url])
    try:
        yield orch, gw
    finally:
        gw.stop()
        orch.stop()


@contextmanager
def quiet_third_party() -> Iterator[None]:
    """diffusers, transformers and torch warn about their own futures: not ours to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        yield


def failing_orchestrator(
    pipeline: str, model_id: str, status: int = 503, price_per_unit: int = 0, how: str = "worker_died"
) -> ServerThread:
    """A node that advertises the model warm and cheap, and fails every job: its worker
    dies (`worker_died`), it is full (`busy`), or it answers with an unsigned output
    (`unsigned`, a forger)."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/info")
    async def info() -> OrchestratorInfo:
        cap = AICapability(
            pipeline=pipeline, model_id=model_id, warm=True, capacity=1, in_use=0, price_per_unit=price_per_unit
        )
        return OrchestratorInfo(
            name="failing", version="0", capabilities=Capabilities(ai=[cap]), price_per_pixel=0, capacity=1, load=0
        )

    @app.post("/ai/{name}", response_model=None)
    async def run(name: str, request: Request) -> FileResponse:
        if how == "unsigned":
            return FileResponse(_unsigned_bundle(name, model_id, request.query_params.get("job_id", "j")))
        headers = {"Retry-After": "30"} if how == "busy" else None
        raise ApiError(status, how, f"the {name} worker: {how}; retry", headers=headers)

    return ServerThread(app).start()


def _unsigned_bundle(pipeline: str, model_id: str, job_id: str) -> Path:
    import io
    import tempfile
    import wave

    root = Path(tempfile.mkdtemp(prefix="forged-"))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\0\0" * 1600)
    out = root / "speech.wav"
    out.write_bytes(buf.getvalue())
    result = AIResult(
        pipeline=pipeline, model_id=model_id, job_id=job_id, units=1, price=0, orchestrator="forger", elapsed=0.0,
        outputs=[AIOutput(file=out.name, kind="audio", bytes=out.stat().st_size, sha256=sha256_file(out))],
    )
    return write_ai_bundle(result, {out.name: out}, root / "result.tar")


def refusal_text(response: httpx.Response) -> str:
    """The words of a Livepeer-route refusal, checking its published shape: 400 with
    {"detail": {"msg", "code"}}, or 422 with the validation list."""
    assert response.status_code in (400, 422), response.text
    detail = response.json()["detail"]
    if response.status_code == 422:
        assert isinstance(detail, list) and all(set(e) == {"loc", "msg", "type"} for e in detail), detail
        return "; ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in detail)
    assert detail["code"] == "invalid_request", detail
    return str(detail["msg"])
