"""AI jobs through a gateway and an orchestrator running tiny real models, on loopback.

One orchestrator (text-to-image, text-to-speech, audio-to-text) and one gateway serve
the whole module: each model's worker is a process that loads torch.
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from framemesh.provenance.verify import read_provenance
from tests.e2e.ai_nodes import (
    PIPER,
    SD,
    SPHINX,
    ai_network,
    failing_orchestrator,
    refusal_text,
)
from tests.e2e.nodes import gateway_thread

pytest.importorskip("diffusers")
pytest.importorskip("piper")

TIMEOUT = 120.0


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("ai-network")
    with ai_network(root, ("text-to-image", "text-to-speech", "audio-to-text")) as (orch, gw):
        yield {"orchestrator": orch.url, "gateway": gw.url, "root": root, "app": orch.app}


def _png_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(data)).size


def _fetch(url: str, dest: Path) -> Path:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    dest.write_bytes(response.content)
    return dest


def test_orchestrator_advertises_its_models(network: dict[str, Any]) -> None:
    info = httpx.get(f"{network['orchestrator']}/info").json()
    ai = {(c["pipeline"], c["model_id"]): c for c in info["capabilities"]["ai"]}
    assert set(ai) == {("text-to-image", SD), ("text-to-speech", PIPER), ("audio-to-text", SPHINX)}
    assert all(c["warm"] and c["capacity"] == 1 and c["in_use"] == 0 for c in ai.values())
    assert ai[("text-to-speech", PIPER)]["price_per_unit"] == 100
    assert info["capabilities"]["transcode"]["profiles"], "transcoding is still offered"
    offered = httpx.get(f"{network['gateway']}/ai/models").json()
    assert {(o["pipeline"], o["model_id"]) for o in offered} == set(ai)


def test_text_to_image_gives_signed_images_of_the_asked_size(network: dict[str, Any], tmp_path: Path) -> None:
    body = {
        "prompt": "a lighthouse at dusk", "model_id": SD, "width": 64, "height": 48, "seed": 7,
        "num_inference_steps": 2, "num_images_per_prompt": 2,
        "loras": "", "some_future_field": {"x": 1},  # a Livepeer client's extras: ignored, not refused
    }
    response = httpx.post(f"{network['gateway']}/text-to-image", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    images = response.json()["images"]
    assert len(images) == 2
    for i, image in enumerate(images):
        assert set(image) == {"url", "seed", "nsfw"} and isinstance(image["nsfw"], bool)
        assert image["url"].startswith(network["gateway"] + "/outputs/ai/")
        path = _fetch(image["url"], tmp_path / f"{i}.png")
        assert _png_size(path.read_bytes()) == (64, 48)
        verdict = read_provenance(path)
        assert verdict.status in ("valid", "untrusted"), verdict.problems
        assert verdict.active is not None
        assert verdict.active.pipeline == "text-to-image" and verdict.active.model == SD
    assert images[0]["seed"] == 7
    path = images[0]["url"].removeprefix(network["gateway"] + "/outputs/")
    verdict_here = httpx.get(f"{network['gateway']}/provenance/{path}").json()
    assert verdict_here["status"] in ("valid", "untrusted") and verdict_here["manifests"][0]["model"] == SD


def test_speech_round_trip(network: dict[str, Any], tmp_path: Path) -> None:
    sentence = "The quick brown fox jumps over the lazy dog."
    spoken = httpx.post(
        f"{network['gateway']}/text-to-speech", json={"text": sentence, "model_id": PIPER}, timeout=TIMEOUT
    )
    assert spoken.status_code == 200, spoken.text
    wav = _fetch(spoken.json()["audio"]["url"], tmp_path / "speech.wav")
    assert wav.read_bytes()[:4] == b"RIFF" and wav.read_bytes()[8:12] == b"WAVE"
    verdict = read_provenance(wav)
    assert verdict.status in ("valid", "untrusted"), verdict.problems
    assert verdict.active is not None and verdict.active.pipeline == "text-to-speech"

    heard = httpx.post(
        f"{network['gateway']}/audio-to-text",
        files={"audio": ("speech.wav", wav.read_bytes(), "audio/wav")},
        data={"model_id": SPHINX, "return_timestamps": "true", "metadata": "{}"},
        timeout=TIMEOUT,
    )
    assert heard.status_code == 200, heard.text
    body = heard.json()
    assert set(body) == {"text", "chunks"}
    assert len(set(body["text"].split()) & {"quick", "brown", "fox", "over", "lazy", "dog"}) >= 4, body["text"]
    for chunk in body["chunks"]:
        start, end = chunk["timestamp"]
        assert 0 <= start <= end and chunk["text"]


def test_no_model_id_takes_the_networks_model(network: dict[str, Any]) -> None:
    response = httpx.post(f"{network['gateway']}/text-to-speech", json={"text": "hi"}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    (stage,) = httpx.get(f"{network['gateway']}/ai/jobs", params={"limit": 1}, timeout=10).json()[0]["stages"]
    assert (stage["pipeline"], stage["model_id"]) == ("text-to-speech", PIPER), "the one model the network serves"
    path = response.json()["audio"]["url"].removeprefix(network["gateway"] + "/outputs/")
    assert httpx.get(f"{network['gateway']}/provenance/{path}").json()["manifests"][0]["model"] == PIPER


def test_unknown_model_is_404_listing_the_models(network: dict[str, Any]) -> None:
    response = httpx.post(
        f"{network['gateway']}/text-to-image", json={"prompt": "a cat", "model_id": "nobody/has-this", "width": 64, "height": 64}
    )
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "nobody/has-this" in detail["msg"] and SD in detail["msg"]
    assert {"pipeline": "text-to-image", "model_id": SD} in detail["models"]
    llm = httpx.post(f"{network['gateway']}/llm", json={"messages": []})
    assert llm.status_code == 404 and "text-to-image" in llm.json()["detail"]["msg"]


def test_orchestrator_refuses_an_unknown_model_with_what_it_serves(network: dict[str, Any]) -> None:
    response = httpx.post(
        f"{network['orchestrator']}/ai/text-to-image",
        data={"request": '{"prompt": "a cat", "model_id": "other/model"}'},
    )
    assert response.status_code == 404
    assert {"pipeline": "audio-to-text", "model_id": SPHINX} in response.json()["detail"]["models"]


def test_bad_input_is_refused_before_any_orchestrator(network: dict[str, Any]) -> None:
    service = network["app"].state.ai
    before = service.jobs_done
    gw = network["gateway"]
    bad_width = httpx.post(f"{gw}/text-to-image", json={"prompt": "a cat", "model_id": SD, "width": 100, "height": 64})
    assert bad_width.status_code == 400 and "multiple of 8" in refusal_text(bad_width)
    long_prompt = httpx.post(f"{gw}/text-to-image", json={"prompt": "x" * 5000, "model_id": SD, "width": 64, "height": 64})
    assert long_prompt.status_code == 400 and "limit" in refusal_text(long_prompt)
    not_audio = httpx.post(f"{gw}/audio-to-text", files={"audio": ("a.wav", b"not audio at all", "audio/wav")}, data={"model_id": SPHINX})
    assert not_audio.status_code == 400 and refusal_text(not_audio)
    not_image = httpx.post(
        f"{gw}/image-to-image", files={"image": ("a.png", b"\x89PNG garbage", "image/png")}, data={"prompt": "x", "model_id": SD}
    )
    assert not_image.status_code == 400 and refusal_text(not_image)
    no_text = httpx.post(f"{gw}/text-to-speech", json={"model_id": PIPER})
    assert "text" in refusal_text(no_text)
    assert service.jobs_done == before, "a refused request reached the orchestrator"


def test_openapi_describes_the_ai_routes(network: dict[str, Any]) -> None:
    spec = httpx.get(f"{network['gateway']}/openapi.json").json()
    t2i = spec["paths"]["/text-to-image"]["post"]
    schema = t2i["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["prompt"] and schema["properties"]["width"]["default"] == 1024
    assert "multipart/form-data" in spec["paths"]["/audio-to-text"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in spec["paths"]["/image-to-video"]["post"]["requestBody"]["content"]
    ok = t2i["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/ImageResponse")
    assert "/text-to-speech" in spec["paths"] and "/upscale" in spec["paths"]


def test_bearer_token(network: dict[str, Any]) -> None:
    gw = gateway_thread(network["root"] / "with-token", [network["orchestrator"]], api_token="s3cret")
    try:
        body = {"text": "hi", "model_id": PIPER}
        refused = httpx.post(f"{gw.url}/text-to-speech", json=body)
        assert refused.status_code == 401 and refused.json()["detail"]["msg"]
        wrong = httpx.post(f"{gw.url}/text-to-speech", json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = httpx.post(f"{gw.url}/text-to-speech", json=body, headers={"Authorization": "Bearer s3cret"}, timeout=TIMEOUT)
        assert ok.status_code == 200, ok.text
    finally:
        gw.stop()


def test_failover_past_a_dead_worker_a_full_node_a_forger_and_a_dead_node(network: dict[str, Any]) -> None:
    broken = failing_orchestrator("text-to-speech", PIPER, status=503)
    busy = failing_orchestrator("text-to-speech", PIPER, status=503, how="busy")
    forger = failing_orchestrator("text-to-speech", PIPER, how="unsigned")
    killed = failing_orchestrator("text-to-speech", PIPER, status=500)
    fakes = [broken, busy, forger, killed]
    gw = gateway_thread(network["root"] / "failover", [*(f.url for f in fakes), network["orchestrator"]], ai_attempts=5)
    killed.stop()  # it answered /info, then died
    try:
        ranked = httpx.get(f"{gw.url}/ai/models").json()
        serving = next(o for o in ranked if o["pipeline"] == "text-to-speech")["orchestrators"]
        assert len(serving) == 5
        response = httpx.post(f"{gw.url}/text-to-speech", json={"text": "still here", "model_id": PIPER}, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        pool = {m["url"]: m for m in httpx.get(f"{gw.url}/orchestrators").json()}
        assert pool[broken.url]["failures"] >= 1 and pool[killed.url]["failures"] >= 1
        assert pool[forger.url]["failures"] == 1 and pool[forger.url]["avoided_for"] > 60, "a forger is banned"
        assert pool[busy.url]["failures"] == 0 and pool[busy.url]["avoided_for"] == 0, "full is not a failure"
        full_until = gw.app.state.gateway.ai.full_until  # its model, not the node: not for its Retry-After
        assert full_until[(busy.url, "text-to-speech", PIPER)] > time.monotonic()
        assert pool[network["orchestrator"]]["successes"] == 1
        wav = httpx.get(response.json()["audio"]["url"])
        assert wav.status_code == 200
    finally:
        gw.stop()
        for fake in fakes:
            fake.stop()


def test_a_worker_that_dies_mid_job_is_a_503_and_is_restarted(network: dict[str, Any]) -> None:
    host = network["app"].state.ai.host
    orch = network["orchestrator"]
    fields = json.dumps({"prompt": "a long job", "model_id": SD, "width": 64, "height": 64, "num_inference_steps": 200})
    answers: list[httpx.Response] = []
    job = threading.Thread(
        target=lambda: answers.append(
            httpx.post(f"{orch}/ai/text-to-image", params={"job_id": "long"}, data={"request": fields}, timeout=TIMEOUT)
        )
    )
    job.start()
    deadline = time.monotonic() + 60
    while True:  # until the worker reports denoising steps: it is mid-job, a fact, not a guess
        progress = httpx.get(f"{orch}/ai/progress/long", timeout=10)
        if progress.status_code == 200 and 0 < progress.json()["fraction"] < 1:
            break
        assert time.monotonic() < deadline and job.is_alive(), "the job never began denoising"
        time.sleep(0.05)
    (pid,) = host.worker_pids("text-to-image", SD)
    os.kill(pid, signal.SIGKILL)
    job.join(TIMEOUT)
    (answer,) = answers
    assert answer.status_code == 503, answer.text
    assert answer.json()["detail"]["code"] == "worker_died"
    again = httpx.post(
        f"{network['gateway']}/text-to-image",
        json={"prompt": "after the crash", "model_id": SD, "width": 64, "height": 64, "num_inference_steps": 1},
        timeout=TIMEOUT,
    )
    assert again.status_code == 200, again.text
    assert host.worker_pids("text-to-image", SD) != [pid], "a fresh worker process"


def test_what_livepeer_clients_send_is_taken(network: dict[str, Any]) -> None:
    """Livepeer's SDKs and curl examples: empty strings for unset fields, 'sentence'
    timestamps, Python-style booleans in forms, a JSON number where an int is meant."""
    gw = network["gateway"]
    body = {"model_id": "", "loras": "", "prompt": "a boat", "height": 64, "width": 64.0, "guidance_scale": 7.5,
            "negative_prompt": "", "safety_check": True, "seed": "", "num_inference_steps": 1, "num_images_per_prompt": 1}
    response = httpx.post(f"{gw}/text-to-image", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["images"][0]["seed"], int)
    spoken = httpx.post(f"{gw}/text-to-speech", json={"text": "one two", "model_id": ""}, timeout=TIMEOUT)
    wav = httpx.get(spoken.json()["audio"]["url"]).content
    heard = httpx.post(
        f"{gw}/audio-to-text", files={"audio": ("a.wav", wav, "audio/wav")},
        data={"model_id": "", "return_timestamps": "sentence", "metadata": "{}"}, timeout=TIMEOUT,
    )
    assert heard.status_code == 200, heard.text


def test_upload_limit_and_max_price(network: dict[str, Any]) -> None:
    gw = gateway_thread(
        network["root"] / "strict", [network["orchestrator"]], ai_max_upload_bytes=1000, max_price_per_unit=50
    )
    try:
        big = httpx.post(f"{gw.url}/audio-to-text", files={"audio": ("a.wav", b"\0" * 5000, "audio/wav")}, data={"model_id": SPHINX})
        assert big.status_code == 413 and big.json()["detail"]["msg"]
        dear = httpx.post(f"{gw.url}/text-to-speech", json={"text": "too dear", "model_id": PIPER})  # 100 wei/char
        assert dear.status_code == 503 and "max price" in dear.json()["detail"]["msg"]
        cheap = httpx.post(f"{gw.url}/text-to-image", json={"prompt": "ok", "model_id": SD, "width": 64, "height": 64,
                                                            "num_inference_steps": 1}, timeout=TIMEOUT)  # 1 wei/pixel
        assert cheap.status_code == 200, cheap.text
    finally:
        gw.stop()


def test_openapi_names_livepeers_bearer_scheme(network: dict[str, Any]) -> None:
    spec = httpx.get(f"{network['gateway']}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["paths"]["/text-to-speech"]["post"]["security"] == [{"HTTPBearer": []}]
    assert spec["paths"]["/text-to-speech"]["post"]["operationId"] == "genTextToSpeech"


def test_a_burst_waits_for_free_slots_instead_of_503(network: dict[str, Any]) -> None:
    """#12: ten requests at once against one worker (a queue of two): all are served,
    the ones that found it full waited in the gateway's line."""
    gw = network["gateway"]

    def ask(seed: int) -> httpx.Response:
        body = {"prompt": "a burst", "model_id": SD, "width": 64, "height": 64, "num_inference_steps": 2, "seed": 1000 + seed}
        return httpx.post(f"{gw}/text-to-image", json=body, timeout=TIMEOUT)

    before = httpx.get(f"{gw}/queue").json()
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(ask, range(10)))
    assert [a.status_code for a in answers] == [200] * 10, [a.text[:200] for a in answers if a.status_code != 200]
    after = httpx.get(f"{gw}/queue").json()
    assert after["served"] - before["served"] == 10 and after["waited"] > before["waited"], (before, after)
    assert after["waiting"] == 0 and after["timed_out"] == before["timed_out"]


def test_past_the_lines_bounds_a_request_gets_503_with_retry_after(network: dict[str, Any]) -> None:
    gw = gateway_thread(network["root"] / "short-line", [network["orchestrator"]], queue_limit=1, queue_seconds=0.5)
    try:
        def ask(seed: int) -> httpx.Response:
            body = {"prompt": "a long one", "model_id": SD, "width": 64, "height": 64, "num_inference_steps": 60,
                    "seed": 2000 + seed}
            return httpx.post(f"{gw.url}/text-to-image", json=body, timeout=TIMEOUT)

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(ask, range(6)))
        refused = [a for a in answers if a.status_code == 503]
        assert refused and any(a.status_code == 200 for a in answers), [a.status_code for a in answers]
        for a in refused:
            assert a.headers["retry-after"].isdigit() and a.json()["detail"]["code"] == "unavailable"
            assert "waiting" in a.json()["detail"]["msg"] or "in time" in a.json()["detail"]["msg"], a.text
    finally:
        gw.stop()
