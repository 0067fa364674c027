"""`POST /llm` through a gateway and an orchestrator running the tiny LLM in a worker
process, on loopback: answers, token streaming, bad input, failover.

One orchestrator and one gateway serve the module (the worker loads torch once).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from framemesh.ai.units import llm_units_bound
from framemesh.net.api_errors import install_error_handlers
from framemesh.net.server import ServerThread
from framemesh.wire.ai import AICapability
from framemesh.wire.orchestrator import Capabilities, OrchestratorInfo
from tests.e2e.ai_nodes import ai_network, failing_orchestrator, refusal_text
from tests.e2e.nodes import gateway_thread

pytest.importorskip("transformers")

LLM = "framemesh/tiny-llm"
TIMEOUT = 120.0
ASK = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello, who are you?"}],
       "model": LLM, "max_tokens": 16, "seed": 7}


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("llm-network")
    with ai_network(root, ("llm",)) as (orch, gw):
        yield {"orchestrator": orch.url, "gateway": gw.url, "root": root, "app": orch.app}


def sse_events(response: httpx.Response) -> list[str]:
    """The `data:` payloads of a text/event-stream answer, in order."""
    events = []
    for block in response.text.split("\n\n"):
        if block.strip():
            assert block.startswith("data: "), block
            events.append(block.removeprefix("data: "))
    return events


def test_the_llm_is_advertised(network: dict[str, Any]) -> None:
    info = httpx.get(f"{network['orchestrator']}/info").json()
    (cap,) = info["capabilities"]["ai"]
    assert (cap["pipeline"], cap["model_id"], cap["warm"], cap["price_per_unit"]) == ("llm", LLM, True, 10)
    offered = httpx.get(f"{network['gateway']}/ai/models").json()
    assert [(o["pipeline"], o["model_id"], len(o["orchestrators"])) for o in offered] == [("llm", LLM, 1)]


def test_an_answer_has_livepeers_shape(network: dict[str, Any]) -> None:
    response = httpx.post(f"{network['gateway']}/llm", json=ASK, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"id", "model", "created", "usage", "choices"}
    assert body["model"] == LLM and isinstance(body["created"], int)
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] in ("stop", "length")
    assert choice["message"]["role"] == "assistant" and isinstance(choice["message"]["content"], str)
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert 0 < usage["completion_tokens"] <= 16 and usage["prompt_tokens"] > 5
    again = httpx.post(f"{network['gateway']}/llm", json=ASK, timeout=TIMEOUT).json()
    assert again["choices"][0]["message"] == choice["message"], "the same seed, the same answer"


def test_a_stream_is_server_sent_events_of_the_same_answer(network: dict[str, Any]) -> None:
    whole = httpx.post(f"{network['gateway']}/llm", json=ASK, timeout=TIMEOUT).json()
    response = httpx.post(f"{network['gateway']}/llm", json={**ASK, "stream": True}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) > 2, "the text comes in pieces"
    assert all(set(c) == {"id", "model", "created", "usage", "choices"} for c in chunks)
    text = "".join(c["choices"][0]["delta"]["content"] for c in chunks)
    assert text == whole["choices"][0]["message"]["content"]
    assert all(c["choices"][0]["finish_reason"] == "" for c in chunks[:-1])
    assert chunks[-1]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]
    assert chunks[-1]["usage"] == whole["usage"]


def test_the_orchestrator_sends_pieces_as_the_model_makes_them(network: dict[str, Any]) -> None:
    service = network["app"].state.ai
    (pid,) = service.host.worker_pids("llm", LLM)
    finished_before = service.jobs_done
    fields = {**ASK, "max_tokens": 300, "seed": 3}
    with httpx.stream("POST", f"{network['orchestrator']}/ai/llm", data={"request": json.dumps(fields)},
                      params={"job_id": "j1"}, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        stream = response.iter_lines()
        first = next(line for line in stream if line)
        os.kill(pid, signal.SIGSTOP)  # the worker makes no more tokens while we look
        try:
            assert service.jobs_done == finished_before, "the first piece came before the answer was finished"
            assert service.slots[("llm", LLM)] == 1, "and the job still holds its place"
        finally:
            os.kill(pid, signal.SIGCONT)
        lines = [json.loads(first)] + [json.loads(line) for line in stream if line]
    *deltas, last = lines
    assert len(deltas) > 1 and all(set(d) == {"delta"} for d in deltas)
    done = last["done"]
    assert done["job_id"] == "j1" and done["text"] == "".join(d["delta"] for d in deltas)
    assert done["units"] == done["usage"]["total_tokens"] <= done["units_bound"]
    assert done["price"] == 0 and done["balance"] is None and done["signature"] is None  # off-chain: free, unsigned
    assert service.slots[("llm", LLM)] == 0
    with httpx.stream("POST", f"{network['orchestrator']}/ai/llm", data={"request": json.dumps({**fields, "max_tokens": 300})},
                      timeout=TIMEOUT) as response:
        assert next(line for line in response.iter_lines() if line)  # then the client goes away
    deadline = time.monotonic() + 60
    while service.slots[("llm", LLM)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.slots[("llm", LLM)] == 0, "a client that leaves frees its place in the queue"
    again = httpx.post(f"{network['gateway']}/llm", json=ASK, timeout=TIMEOUT)
    assert again.status_code == 200, again.text


def test_bad_input_is_refused_before_any_orchestrator_and_the_node_still_serves(network: dict[str, Any]) -> None:
    service = network["app"].state.ai
    before = service.jobs_done
    gw = network["gateway"]
    cases = [
        ({**ASK, "messages": []}, "messages is empty"),
        ({**ASK, "messages": [{"role": "robot", "content": "hi"}]}, "role must be one of"),
        ({**ASK, "temperature": 3}, "temperature must be 0..2"),
        ({**ASK, "max_tokens": 0}, "max_tokens must be"),
        ({**ASK, "top_p": 0}, "top_p must be in (0, 1]"),
        ({**ASK, "messages": "hello"}, "messages"),
    ]
    for body, words in cases:
        response = httpx.post(f"{gw}/llm", json=body)
        assert words in refusal_text(response), (body, response.text)
    not_json = httpx.post(f"{gw}/llm", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and "JSON" in refusal_text(not_json)
    unknown = httpx.post(f"{gw}/llm", json={**ASK, "model": "nobody/has-it"})
    assert unknown.status_code == 404 and LLM in unknown.json()["detail"]["msg"]
    assert service.jobs_done == before, "a refused request reached the orchestrator"
    ok = httpx.post(f"{gw}/llm", json={**ASK, "model": ""}, timeout=TIMEOUT)  # empty: the network's model
    assert ok.status_code == 200, ok.text
    assert ok.json()["model"] == LLM


def test_the_orchestrator_refuses_a_prompt_over_the_models_context(network: dict[str, Any]) -> None:
    fields = {**ASK, "messages": [{"role": "user", "content": "word " * 600}], "max_tokens": 4000}
    response = httpx.post(f"{network['gateway']}/llm", json=fields, timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    assert "context of 2048 tokens" in refusal_text(response)


def test_openapi_describes_llm(network: dict[str, Any]) -> None:
    spec = httpx.get(f"{network['gateway']}/openapi.json").json()
    op = spec["paths"]["/llm"]["post"]
    assert op["operationId"] == "genLLM" and op["security"] == [{"HTTPBearer": []}]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["messages"]
    assert {k: schema["properties"][k]["default"] for k in ("model", "temperature", "max_tokens", "top_p", "top_k", "stream")} == {
        "model": "", "temperature": 0.7, "max_tokens": 256, "top_p": 1.0, "top_k": -1, "stream": False,
    }
    ok = op["responses"]["200"]["content"]
    assert ok["application/json"]["schema"]["$ref"].endswith("/LLMResponse") and "text/event-stream" in ok
    assert op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/HTTPValidationError")
    assert op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/HTTPError")


def test_bearer_token(network: dict[str, Any]) -> None:
    gw = gateway_thread(network["root"] / "with-token", [network["orchestrator"]], api_token="s3cret")
    try:
        refused = httpx.post(f"{gw.url}/llm", json=ASK)
        assert refused.status_code == 401 and refused.json()["detail"]["code"] == "unauthorized"
        ok = httpx.post(f"{gw.url}/llm", json=ASK, headers={"Authorization": "Bearer s3cret"}, timeout=TIMEOUT)
        assert ok.status_code == 200, ok.text
    finally:
        gw.stop()


def _breaks_mid_answer(how: str) -> ServerThread:
    """A node that advertises the LLM warm and free, starts an answer, then breaks it:
    an error line (`error`), a cut connection (`cut`), or a done line whose text is not
    what it streamed (`forged`)."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/info")
    async def info() -> OrchestratorInfo:
        cap = AICapability(pipeline="llm", model_id=LLM, warm=True, capacity=1, in_use=0, price_per_unit=0)
        return OrchestratorInfo(name=how, version="0", capabilities=Capabilities(ai=[cap]), price_per_pixel=0, capacity=1, load=0)

    @app.post("/ai/llm")
    async def run(request: Request) -> StreamingResponse:
        job = request.query_params.get("job_id", "j")

        async def lines() -> Any:
            yield b'{"delta": "half an ans"}\n'
            if how == "error":
                yield b'{"error": {"msg": "the worker died", "code": "worker_died"}}\n'
            elif how == "forged":
                usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                done = {"model_id": LLM, "job_id": job, "text": "something else", "finish_reason": "stop", "usage": usage,
                        "seed": 0, "units_bound": 1, "units": 1, "price": 0, "orchestrator": how, "elapsed": 0.0}
                yield json.dumps({"done": done}).encode() + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return ServerThread(app).start()


def test_failover_before_the_answer_and_after_a_broken_one(network: dict[str, Any]) -> None:
    dead = failing_orchestrator("llm", LLM, status=503)
    broken = [_breaks_mid_answer(how) for how in ("error", "cut", "forged")]
    fakes = [dead, *broken]
    gw = gateway_thread(network["root"] / "failover", [*(f.url for f in fakes), network["orchestrator"]], ai_attempts=5)
    try:
        response = httpx.post(f"{gw.url}/llm", json=ASK, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        pool = {m["url"]: m for m in httpx.get(f"{gw.url}/orchestrators").json()}
        assert pool[network["orchestrator"]]["successes"] == 1
        for fake in fakes:
            assert pool[fake.url]["failures"] == 1, fake.url
        assert pool[broken[2].url]["avoided_for"] > 60, "a forger is banned"
    finally:
        gw.stop()
        for fake in fakes:
            fake.stop()


def test_a_whole_answer_tries_at_most_ai_attempts_orchestrators_in_all(network: dict[str, Any]) -> None:
    """B10: answers that break mid-way and openings that fail share one budget."""
    broken = []
    for _ in range(3):  # ranked in this order: one that fails to open, then one that opens and breaks
        broken += [failing_orchestrator("llm", LLM, status=500, how="error"), _breaks_mid_answer("cut")]
    gw = gateway_thread(network["root"] / "budget", [b.url for b in broken], ai_attempts=2)
    try:
        response = httpx.post(f"{gw.url}/llm", json=ASK, timeout=TIMEOUT)
        assert response.status_code == 503 and response.json()["detail"]["code"] == "unavailable", response.text
        pool = httpx.get(f"{gw.url}/orchestrators").json()
        assert sum(m["failures"] for m in pool) == 2, [(m["url"], m["failures"]) for m in pool]
    finally:
        gw.stop()
        for fake in broken:
            fake.stop()


def test_a_stream_that_breaks_after_its_first_byte_ends_with_an_error_event(network: dict[str, Any]) -> None:
    broken = _breaks_mid_answer("error")
    gw = gateway_thread(network["root"] / "mid-stream", [broken.url])
    try:
        response = httpx.post(f"{gw.url}/llm", json={**ASK, "stream": True}, timeout=TIMEOUT)
        assert response.status_code == 200
        events = sse_events(response)
        assert json.loads(events[0])["choices"][0]["delta"]["content"] == "half an ans"
        assert "the worker died" in json.loads(events[-1])["error"]["msg"]
        assert "[DONE]" not in events
    finally:
        gw.stop()
        broken.stop()


def test_pieces_reach_the_client_before_the_answer_is_finished(network: dict[str, Any]) -> None:
    """A node sends one piece, then holds the rest until the test has read that piece
    from the gateway: a gateway that waited for the whole answer would never show it."""
    gate = threading.Event()
    released: list[bool] = []
    app = FastAPI()

    @app.get("/info")
    async def info() -> OrchestratorInfo:
        cap = AICapability(pipeline="llm", model_id=LLM, warm=True, capacity=1, in_use=0, price_per_unit=0)
        return OrchestratorInfo(name="gated", version="0", capabilities=Capabilities(ai=[cap]), price_per_pixel=0, capacity=1, load=0)

    @app.post("/ai/llm")
    async def run(request: Request) -> StreamingResponse:
        fields = json.loads(str((await request.form())["request"]))
        bound = llm_units_bound([(m["role"], m["content"]) for m in fields["messages"]], fields["max_tokens"])
        usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        done = {"model_id": LLM, "job_id": request.query_params["job_id"], "text": "first second", "finish_reason": "stop",
                "usage": usage, "seed": 0, "units_bound": bound, "units": 5, "price": 0, "orchestrator": "gated", "elapsed": 0.0}

        async def lines() -> Any:
            yield b'{"delta": "first"}\n'
            released.append(await asyncio.to_thread(gate.wait, 60))
            yield b'{"delta": " second"}\n' + json.dumps({"done": done}).encode() + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    node = ServerThread(app).start()
    gw = gateway_thread(network["root"] / "gated", [node.url])
    try:
        with httpx.stream("POST", f"{gw.url}/llm", json={**ASK, "stream": True}, timeout=TIMEOUT) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            first = next(line for line in lines if line)
            assert json.loads(first.removeprefix("data: "))["choices"][0]["delta"]["content"] == "first"
            assert not gate.is_set()
            gate.set()
            rest = [line.removeprefix("data: ") for line in lines if line]
        assert released == [True], "the first piece arrived while the node still held the rest"
        assert json.loads(rest[0])["choices"][0]["delta"]["content"] == " second" and rest[-1] == "[DONE]"
    finally:
        gate.set()
        gw.stop()
        node.stop()


def test_llm_answers_are_recorded_in_the_ai_job_store(network: dict[str, Any]) -> None:
    gateway = network["gateway"]
    plain = httpx.post(f"{gateway}/llm", json={**ASK, "seed": 77}, timeout=TIMEOUT).json()
    streamed = httpx.post(f"{gateway}/llm", json={**ASK, "seed": 78, "stream": True}, timeout=TIMEOUT)
    assert sse_events(streamed)[-1] == "[DONE]"
    jobs = {j["id"]: j for j in httpx.get(f"{gateway}/ai/jobs", timeout=10).json()}
    answer = jobs[plain["id"]]
    assert (answer["kind"], answer["state"], answer["stages"][0]["pipeline"]) == ("request", "completed", "llm")
    assert answer["text"] == plain["choices"][0]["message"]["content"]
    assert answer["stages"][0]["units"] == plain["usage"]["total_tokens"]
    assert answer["stages"][0]["orchestrator"] == network["orchestrator"]
    chunks = [json.loads(e) for e in sse_events(streamed)[:-1]]
    streamed_job = jobs[chunks[0]["id"]]
    assert streamed_job["state"] == "completed" and streamed_job["stages"][0]["orchestrator"] == network["orchestrator"]
    assert streamed_job["text"] == "".join(c["choices"][0]["delta"]["content"] for c in chunks)
