"""AI admission at the orchestrator: a model's queue is never overshot by requests that
arrive together (B6), and a job that is refused or fails gives its slot back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.requests import Request

from framemesh.ai import AIConfig, ModelSpec
from framemesh.net.api_errors import ApiError
from framemesh.orchestrator.admission import ModelSlots
from framemesh.orchestrator.ai_routes import QUEUE_PER_WORKER, AIService
from framemesh.orchestrator.billing import Reservation

SPEC = ModelSpec(pipeline="text-to-speech", model_id="voice", price_per_unit=5, capacity=1)


class GatedBilling:
    """Payments that wait at a gate (as a real one waits on its checks), counting who got there."""

    def __init__(self, refuse: bool = False) -> None:
        self.reached = 0
        self.gate = asyncio.Event()
        self.refuse = refuse
        self.released: list[Reservation] = []

    async def take_payment(self, header: str | None, price: int) -> Reservation:
        self.reached += 1
        await self.gate.wait()
        if self.refuse:
            raise ApiError(402, "insufficient_payment", "no credit")
        return Reservation("0xsender", price)

    def release(self, held: Reservation) -> None:
        if held.close():
            self.released.append(held)


def service(tmp_path: Path, billing: object) -> AIService:
    return AIService(
        AIConfig(models=(SPEC,)), name="o", work_root=tmp_path, signing=None, billing=billing,  # type: ignore[arg-type]
        run_in_pool=None, max_request_bytes=10_000,  # type: ignore[arg-type]
    )


def job_request(text: str = "hello") -> Request:
    body = ("request=" + quote(json.dumps({"text": text, "model_id": "voice"}))).encode()
    scope = {
        "type": "http", "method": "POST", "path": "/ai/text-to-speech", "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", str(len(body)).encode())],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


async def _settle(tasks: list[asyncio.Task[object]], billing: GatedBilling) -> None:
    """Until every request is either refused or waiting at the payment."""
    for _ in range(500):
        if sum(t.done() for t in tasks) + billing.reached == len(tasks):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("requests neither refused nor at the payment")


async def test_requests_arriving_together_never_overshoot_the_queue(tmp_path: Path) -> None:
    billing = GatedBilling()
    ai = service(tmp_path, billing)
    tasks = [asyncio.create_task(ai.admit("text-to-speech", job_request())) for _ in range(6)]
    await _settle(tasks, billing)
    limit = QUEUE_PER_WORKER * SPEC.capacity
    assert billing.reached == limit, f"{billing.reached} requests got to the payment; the queue holds {limit}"
    busy = [t.exception() for t in tasks if t.done()]
    assert len(busy) == 6 - limit and all(isinstance(e, ApiError) and e.status == 503 for e in busy)
    billing.gate.set()
    admitted = [await t for t in tasks if not t.done() or t.exception() is None]
    assert len(admitted) == limit and ai.slots[SPEC.key] == limit
    for job in admitted:
        job.slot.release()
        job.slot.release()  # once only
    assert ai.slots[SPEC.key] == 0
    assert (await _admit_one(ai, billing)).price == 5 * len("hello"), "room again"


async def _admit_one(ai: AIService, billing: GatedBilling):  # type: ignore[no-untyped-def]
    billing.gate.set()
    return await ai.admit("text-to-speech", job_request())


async def test_a_refused_payment_gives_the_slot_back(tmp_path: Path) -> None:
    billing = GatedBilling(refuse=True)
    billing.gate.set()
    ai = service(tmp_path, billing)
    for _ in range(QUEUE_PER_WORKER + 1):
        with pytest.raises(ApiError) as refused:
            await ai.admit("text-to-speech", job_request())
        assert refused.value.status == 402
    assert ai.slots[SPEC.key] == 0


async def test_a_failed_job_releases_its_slot_and_its_payment(tmp_path: Path) -> None:
    billing = GatedBilling()
    billing.gate.set()
    ai = service(tmp_path, billing)
    job = await ai.admit("text-to-speech", job_request())
    ai._undelivered(job)
    ai._undelivered(job)
    assert ai.slots[SPEC.key] == 0 and billing.released == [job.held]


def test_slots_count_per_key() -> None:
    slots = ModelSlots()
    a = slots.take("a", 1, "model a")
    with pytest.raises(ApiError, match="model a is at capacity"):
        slots.take("a", 1, "model a")
    b = slots.take("b", 1, "model b")
    a.release()
    assert slots["a"] == 0 and slots["b"] == 1
    b.release()
    slots.take("a", 1, "model a")
