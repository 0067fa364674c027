"""The orchestrator's LLM answer on its own: pieces as the host makes them, then a done
line charged for the tokens used; a failure mid-answer is an error line and costs
nothing; the job's slot and reservation are given back however the answer ends."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from framemesh.ai import ModelSpec, PipelineFailed, WorkerDied
from framemesh.ai.requests import LLMMessage, LLMRequest, LLMResult
from framemesh.chain.keys import Signer
from framemesh.net.api_errors import ApiError
from framemesh.orchestrator.admission import ModelSlots
from framemesh.orchestrator.ai_jobs import AdmittedJob
from framemesh.orchestrator.billing import Reservation
from framemesh.orchestrator.llm_stream import stream_llm
from framemesh.payments.signatures import recover
from framemesh.wire.ai import LLMDone, llm_answer_digest, llm_request_sha256

SPEC = ModelSpec(pipeline="llm", model_id="tiny", price_per_unit=3)
RESULT = LLMResult(text="Hello there", finish_reason="stop", prompt_tokens=10, completion_tokens=4, seed=1)


class Host:
    """Yields the pieces it is given, then the result, or raises `fail` after `fail_after` pieces."""

    def __init__(self, pieces: list[str], fail: Exception | None = None, fail_after: int = 0) -> None:
        self.pieces, self.fail, self.fail_after = pieces, fail, fail_after
        self.closed = False

    async def stream(self, pipeline: str, model_id: str, request: Any) -> AsyncGenerator[Any, None]:
        try:
            for n, piece in enumerate(self.pieces):
                if self.fail is not None and n == self.fail_after:
                    raise self.fail
                yield piece
            if self.fail is not None:
                raise self.fail
            yield RESULT
        finally:
            self.closed = True


class Ledger:
    """What `Billing` does with a reservation, recorded; signs with a real key."""

    signer = Signer.from_key(b"\x41" * 32)

    def __init__(self) -> None:
        self.settled: list[int] = []
        self.released = 0

    def release(self, held: Reservation) -> None:
        if held.close():
            self.released += 1

    def credit_left(self, sender: str) -> str:
        return "0"


def admitted(slots: ModelSlots, units: int = 40) -> AdmittedJob:
    request = LLMRequest(messages=(LLMMessage("user", "hi"),), model="tiny")
    slot = slots.take(SPEC.key, 2, "llm")
    return AdmittedJob("j", SPEC, request, {"messages": [["user", "hi"]]}, {}, units, units * 3, slot,
                       Reservation("0xsender", units * 3))


async def _body(response: Any) -> list[dict[str, Any]]:
    out = []
    async for chunk in response.body_iterator:
        out += [json.loads(line) for line in chunk.decode().splitlines() if line]
    if response.background is not None:
        await response.background()
    return out


async def test_pieces_then_a_done_line_charged_for_the_tokens_used() -> None:
    slots, ledger = ModelSlots(), Ledger()
    job = admitted(slots)
    delivered: list[int | None] = []

    def settle(done_job: AdmittedJob, price: int | None) -> int:
        delivered.append(price)
        assert done_job.held is not None and done_job.held.close()
        return int(price or 0)

    host = Host(["Hello", " there"])
    lines = await _body(await stream_llm(job, host, ledger, "o1", settle))  # type: ignore[arg-type]
    assert lines[:2] == [{"delta": "Hello"}, {"delta": " there"}]
    done = lines[2]["done"]
    assert done["units"] == 14 and done["units_bound"] == 40 and done["price"] == 14 * 3 == delivered[0]
    assert done["text"] == "Hello there" and done["orchestrator"] == "o1"
    answer = LLMDone.model_validate(done)
    digest = llm_answer_digest(answer.model_copy(update={"address": None, "signature": None}), llm_request_sha256(job.fields))
    assert recover(digest, bytes.fromhex(done["signature"][2:])) == Ledger.signer.address == done["address"]
    assert slots[SPEC.key] == 0 and host.closed and ledger.released == 0, "settled, not released"


@pytest.mark.parametrize("error, code", [(WorkerDied("killed"), "worker_died"), (PipelineFailed("boom"), "ai_failed")])
async def test_a_failure_mid_answer_is_an_error_line_and_costs_nothing(error: Exception, code: str) -> None:
    slots, ledger = ModelSlots(), Ledger()
    job = admitted(slots)
    host = Host(["Hel", "lo"], fail=error, fail_after=1)
    lines = await _body(await stream_llm(job, host, ledger, "o1", lambda *_: pytest.fail("settled")))  # type: ignore[arg-type]
    assert lines[0] == {"delta": "Hel"} and lines[1]["error"]["code"] == code
    assert slots[SPEC.key] == 0 and ledger.released == 1


async def test_a_failure_before_the_first_piece_is_an_http_error() -> None:
    slots, ledger = ModelSlots(), Ledger()
    host = Host([], fail=WorkerDied("killed"))
    with pytest.raises(ApiError) as refused:
        await stream_llm(admitted(slots), host, ledger, "o1", lambda *_: 0)  # type: ignore[arg-type]
    assert refused.value.status == 503 and refused.value.code == "worker_died"
    assert slots[SPEC.key] == 0 and ledger.released == 1


async def test_a_client_gone_before_the_body_frees_the_slot_and_the_payment() -> None:
    slots, ledger = ModelSlots(), Ledger()
    host = Host(["a", "b"])
    response = await stream_llm(admitted(slots), host, ledger, "o1", lambda *_: 0)  # type: ignore[arg-type]
    assert slots[SPEC.key] == 1
    await response.background()  # what the server runs when the response ends, body sent or not
    assert slots[SPEC.key] == 0 and ledger.released == 1 and host.closed
