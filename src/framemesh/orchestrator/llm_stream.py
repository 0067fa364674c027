"""The orchestrator's LLM answer: the reply streamed as the worker makes it, then the
usage, the units and price charged, the credit left and a signature.

    {"delta": "Hel"}\n{"delta": "lo"}\n ... {"done": {...LLMDone}}\n

The job was paid for its bound (price_per_unit x `framemesh.ai.units.llm_units_bound`)
when it was admitted; once the answer is complete it is charged price_per_unit x
min(tokens used, bound), the tokens counted by the model's own tokenizer, and the rest
stays the gateway's credit here (`done.balance` says how much; the gateway takes the
unused part back into its mirror of it). An answer cut off before its `done` line is
not charged.

Errors before the first line are HTTP errors (the gateway fails over); after it, an
`{"error": {"msg", "code"}}` line ends the stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from framemesh.ai import AIError, ModelHost
from framemesh.ai.requests import LLMResult
from framemesh.ai.units import llm_charged_units
from framemesh.orchestrator.ai_jobs import AdmittedJob, job_error
from framemesh.orchestrator.billing import Billing
from framemesh.wire.ai import (
    LLM_MEDIA_TYPE,
    LLMDone,
    LLMTokenUsage,
    llm_answer_digest,
    llm_request_sha256,
)

# Settles a delivered job for a price (at most its reservation); returns what was charged.
Delivered = Callable[[AdmittedJob, int | None], int]


async def stream_llm(
    job: AdmittedJob, host: ModelHost, billing: Billing | None, name: str, delivered: Delivered
) -> StreamingResponse:
    """Start the job; answer once its first piece (or its whole result) is there.

    `delivered(job, price)` settles the job once its answer is complete; an answer that
    ends any other way gives the job's slot and reserved payment back."""
    started = time.time()
    items: AsyncGenerator[Any, None] = host.stream("llm", job.spec.model_id, job.request)
    ended = False

    async def end() -> None:
        """Once, whichever comes first: the answer's end, or the response's (a client
        gone before the body started never runs the body)."""
        nonlocal ended
        if not ended:
            ended = True
            job.slot.release()
            if billing is not None and job.held is not None:
                billing.release(job.held)  # nothing, once the answer was settled
            await items.aclose()

    try:
        first = await anext(items)
    except BaseException as exc:
        await end()
        if isinstance(exc, AIError):
            raise job_error(exc, "llm", job.id) from exc
        raise

    async def lines() -> AsyncIterator[bytes]:
        try:
            item: Any = first
            while isinstance(item, str):
                yield _line({"delta": item})
                item = await anext(items)
            yield _line({"done": _finish(job, item, billing, name, delivered, started).model_dump()})
        except AIError as exc:
            error = job_error(exc, "llm", job.id)
            yield _line({"error": {"msg": error.msg, "code": error.code}})
        finally:
            await end()

    return StreamingResponse(lines(), media_type=LLM_MEDIA_TYPE, background=BackgroundTask(end))


def _finish(
    job: AdmittedJob, result: LLMResult, billing: Billing | None, name: str, delivered: Delivered, started: float
) -> LLMDone:
    """Charge for the tokens used, and sign the answer (with the account, on a chain)."""
    spec = job.spec
    units = llm_charged_units(result.prompt_tokens, result.completion_tokens, job.units)
    price = delivered(job, spec.price_per_unit * units if billing is not None else 0)
    balance = billing.credit_left(job.held.sender) if billing is not None and job.held is not None else None
    done = LLMDone(
        model_id=spec.model_id, job_id=job.id, text=result.text, finish_reason=result.finish_reason,
        usage=LLMTokenUsage(
            prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
            total_tokens=result.total_tokens,
        ),
        seed=result.seed, units_bound=job.units, units=units, price=price, balance=balance,
        orchestrator=name, address=None, signature=None, elapsed=time.time() - started,
    )
    if billing is not None:
        digest = llm_answer_digest(done, llm_request_sha256(job.fields))
        done = done.model_copy(update={
            "address": str(billing.signer.address), "signature": "0x" + billing.signer.sign_digest(digest).hex(),
        })
    return done


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"
