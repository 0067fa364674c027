"""Sending an LLM job to an orchestrator and reading its answer as it is made.

`LLMDispatcher.open` tries the orchestrators `AIDirectory` ranks for the model, pays
each (on a chain) for the job's bound, price per unit x `request.units()`, and returns
an `LLMStream` as soon as one has sent its first line: an error, a timeout, a full
node or a dead worker before that fails over to the next, up to `ai_attempts`.

`LLMStream.events()` yields ("delta", text) pieces, then ("done", LLMDone) once the
answer is checked: the job, model and text are the ones asked for and sent, the units
charged are min(usage.total_tokens, bound) and the price is price per unit x units,
and the signature, when there is one, is the orchestrator's account's. Then the part
of the bound not charged is taken back into the payer's mirror of our credit there,
so both agree (the mirror is not set to `done.balance`: that figure does not yet
count our other jobs in flight there, which the mirror already does).
A broken answer raises PeerFailed (the orchestrator is avoided; a cheat is banned).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from framemesh.gateway.ai.dispatch import (
    AIDispatcher,
    NoOrchestrator,
    OrchestratorRefused,
)
from framemesh.gateway.errors import PeerBusy, PeerFailed, PeerRefused
from framemesh.gateway.core.payer import pay_and_call
from framemesh.gateway.core.scores import Work
from framemesh.gateway.core.waiting import LineFull, WaitedTooLong
from framemesh.gateway.core.peer import raise_for_status
from framemesh.payments.signatures import BadSignature, recover
from framemesh.wire.ai import (
    REQUEST_PART,
    LLMDone,
    llm_answer_digest,
    llm_request_sha256,
)
from framemesh.wire.payment import PAYMENT_HEADER

log = logging.getLogger("framemesh.gateway")

PIPELINE = "llm"


@dataclass
class LLMStream:
    """One orchestrator's answer, open: its first line already read."""

    dispatcher: LLMDispatcher
    url: str
    response: httpx.Response
    lines: AsyncIterator[str]
    first: dict[str, Any]
    fields: dict[str, Any]
    job_id: str
    model_id: str
    units: int
    price_per_unit: int
    paid: bool
    sent: float  # perf_counter when the request went out

    async def events(self) -> AsyncIterator[tuple[str, Any]]:
        """("delta", text)..., then ("done", LLMDone); PeerFailed if the answer breaks.

        An answer that ends without a good done line (broken, refused, or left by our
        client) was not charged for: the bound's payment goes back into the payer's
        mirror. (Should the orchestrator have charged after all, our next job there gets
        a 402 with its balance, and the mirror is set to it.)"""
        sent: list[str] = []
        settled = False
        try:
            line: dict[str, Any] | None = self.first
            while line is not None:
                if "delta" in line:
                    piece = str(line["delta"])
                    sent.append(piece)
                    yield "delta", piece
                elif "done" in line:
                    done = self._check(line["done"], "".join(sent))
                    self.dispatcher.ai.metrics.ai_try(PIPELINE, self.url, "ok", time.perf_counter() - self.sent)
                    settled = True
                    await self.response.aclose()
                    yield "done", done
                    return
                elif "error" in line:
                    error = line["error"] if isinstance(line["error"], dict) else {"msg": str(line["error"])}
                    raise PeerFailed(self.url, "error", f"failed mid-answer: {error.get('msg', error)}")
                else:
                    raise PeerFailed(self.url, "bad_result", f"an answer line that is none of delta/done/error: {line}")
                line = await self.dispatcher.next_line(self.url, self.lines)
            raise PeerFailed(self.url, "error", "the answer ended before its done line")
        except PeerFailed as exc:
            self.dispatcher.ai.failed(self.url, exc, Work.ai(PIPELINE, self.model_id))
            raise
        finally:
            payer = self.dispatcher.ai.payer
            if not settled and self.paid and payer is not None:
                payer.refund(self.url, self.price_per_unit * self.units)
            await self.response.aclose()
            self.dispatcher.ai.give_back((self.url, PIPELINE, self.model_id))  # it may take the next in line

    def _check(self, raw: Any, text: str) -> LLMDone:
        try:
            done = LLMDone.model_validate(raw)
        except ValueError as exc:
            raise PeerFailed(self.url, "bad_result", f"a malformed done line: {exc}") from exc
        problem = None
        bound_price = self.price_per_unit * self.units
        expected_units = min(done.usage.total_tokens, self.units)
        if (done.job_id, done.model_id) != (self.job_id, self.model_id):
            problem = f"answered for {done.model_id!r} job {done.job_id}"
        elif done.text != text:
            problem = "its done text is not the text it streamed"
        elif done.usage.total_tokens != done.usage.prompt_tokens + done.usage.completion_tokens:
            problem = "its usage does not add up"
        elif done.units_bound != self.units or done.units != expected_units:
            problem = f"charged {done.units} units of a bound of {done.units_bound}; expected {expected_units} of {self.units}"
        elif self.paid and done.price != self.price_per_unit * done.units:
            problem = f"charged {done.price} wei for {done.units} units at {self.price_per_unit} wei/unit"
        else:
            problem = self._signature_problem(done)
        if problem is not None:
            raise PeerFailed(self.url, "bad_result", problem)
        payer = self.dispatcher.ai.payer
        if self.paid and payer is not None:
            # The bound was debited from our mirror of the credit there when we paid; the
            # orchestrator debited only `done.price`: take the rest back, and both agree.
            # (`done.balance` is not copied: with other jobs of ours in flight there, it
            # does not yet count their prices, which our mirror already does.)
            payer.refund(self.url, bound_price - done.price)
        pool = self.dispatcher.ai.pool
        if self.url in pool.members:
            # The orchestrator's time for the whole answer (a stream has no one round trip).
            pool.succeeded(self.url, done.elapsed, time.monotonic(), work=Work.ai(PIPELINE, self.model_id))
        return done

    def _signature_problem(self, done: LLMDone) -> str | None:
        member = self.dispatcher.ai.pool.members.get(self.url)
        expected = member.address if member is not None else None
        if done.signature is None:
            return "its answer is not signed" if expected else None
        try:
            signer = recover(
                llm_answer_digest(done, llm_request_sha256(self.fields)), bytes.fromhex(done.signature.removeprefix("0x"))
            )
        except (BadSignature, ValueError) as exc:
            return f"its signature does not recover: {exc}"
        if expected is not None and signer.lower() != expected.lower():
            return f"its answer is signed by {signer}, not by its account {expected}"
        return None


class LLMDispatcher:
    """LLM jobs on the AI dispatcher's orchestrators, payer and HTTP client."""

    def __init__(self, ai: AIDispatcher) -> None:
        self.ai = ai

    async def open(
        self, model_id: str, request: Any, units: int, job_id: str, tried: set[str] | None = None, *, key: str = ""
    ) -> LLMStream:
        """The answer's stream from the best orchestrator that opens one, waiting in the
        gateway's line while all are busy. `tried` (grown here) holds the orchestrators
        that failed this request: together never more than `ai_attempts`, however often
        the caller asks again."""
        ai = self.ai
        tried = set() if tried is None else tried
        errors: list[str] = []
        fields = dataclasses.asdict(request)

        async def attempt() -> LLMStream | None:
            now = ai.ranked_now(PIPELINE, model_id)
            if now is None:
                return None
            ranked = [r for r in now if r[0] not in tried]
            busy_for: list[float] = []
            for url, price_per_unit in ranked:
                if len(tried) >= ai.attempts:
                    break
                slot = (url, PIPELINE, model_id)
                ai.take(slot)  # given back when the answer's stream ends
                try:
                    try:
                        stream = await self._pay_and_open(url, fields, model_id, units, price_per_unit, job_id)
                    except BaseException:
                        ai.give_back(slot)
                        raise
                    tried.add(url)  # an answer that breaks later still spent this try
                    return stream
                except PeerBusy as exc:
                    ai.metrics.ai_try(PIPELINE, url, "busy")
                    ai.said_full(slot, exc.retry_after)
                    busy_for.append(exc.retry_after)
                except PeerFailed as exc:
                    ai.metrics.ai_try(PIPELINE, url, exc.kind)
                    log.warning("LLM job %s: %s; failing over", job_id, exc)
                    tried.add(url)
                    ai.failed(url, exc, Work.ai(PIPELINE, model_id))
                    errors.append(str(exc))
            if len(tried) >= ai.attempts or not ranked:
                raise NoOrchestrator(
                    503, f"llm {model_id!r} failed on every orchestrator tried: " + ("; ".join(errors) or "none left"), []
                )
            ai.line.wake_after(min(busy_for) if busy_for else 1.0)
            return None

        try:
            return await ai.line.serve(key, time.monotonic() + ai.wait_seconds, attempt)
        except (LineFull, WaitedTooLong) as exc:
            raise NoOrchestrator(503, f"llm {model_id!r}: {exc}; retry later", [], retry_after=1.0) from exc

    async def next_line(self, url: str, lines: AsyncIterator[str]) -> dict[str, Any] | None:
        """The next JSON line of an answer (None at its end), within the AI timeout."""
        try:
            async with asyncio.timeout(self.ai.timeout):
                while True:
                    raw = await anext(lines, None)
                    if raw is None:
                        return None
                    if raw.strip():
                        break
        except TimeoutError as exc:
            raise PeerFailed(url, "timeout", f"nothing from the model within {self.ai.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise PeerFailed(url, "unreachable", str(exc) or type(exc).__name__) from exc
        try:
            line = json.loads(raw)
        except ValueError as exc:
            raise PeerFailed(url, "bad_result", f"an answer line is not JSON: {exc}") from exc
        if not isinstance(line, dict):
            raise PeerFailed(url, "bad_result", "an answer line is not a JSON object")
        return line

    async def _pay_and_open(
        self, url: str, fields: dict[str, Any], model_id: str, units: int, price_per_unit: int, job_id: str
    ) -> LLMStream:
        """Pay for the bound and open the answer (nothing is charged before its done line,
        so any failure here takes the payment back)."""
        paid: list[bool] = []
        sent = time.perf_counter()

        async def call(payment: str | None) -> tuple[httpx.Response, AsyncIterator[str], dict[str, Any]]:
            paid.append(payment is not None)
            return await self._open(url, fields, payment, job_id)

        response, lines, first = await pay_and_call(self.ai.payer, url, price_per_unit * units, call, charged_on_bad_result=False)
        return LLMStream(self, url, response, lines, first, fields, job_id, model_id, units, price_per_unit, paid[-1], sent)

    async def _open(
        self, url: str, fields: dict[str, Any], payment: str | None, job_id: str
    ) -> tuple[httpx.Response, AsyncIterator[str], dict[str, Any]]:
        http = self.ai.client.http
        request = http.build_request(
            "POST", f"{url}/ai/{PIPELINE}", params={"job_id": job_id}, data={REQUEST_PART: json.dumps(fields)},
            headers={PAYMENT_HEADER: payment} if payment is not None else {}, timeout=self.ai.timeout,
        )
        try:
            async with asyncio.timeout(self.ai.timeout):
                response = await http.send(request, stream=True)
        except TimeoutError as exc:
            raise PeerFailed(url, "timeout", f"no answer within {self.ai.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise PeerFailed(url, "unreachable", str(exc) or type(exc).__name__) from exc
        try:
            if response.status_code != 200:
                await response.aread()
                try:
                    raise_for_status(url, response, refusals=True)
                except PeerRefused as exc:
                    raise OrchestratorRefused(exc.status, exc.detail) from exc
            lines = response.aiter_lines()
            first = await self.next_line(url, lines)
            if first is None:
                raise PeerFailed(url, "error", "an empty answer")
            if "error" in first:
                raise PeerFailed(url, "error", f"failed: {first['error']}")
        except BaseException:
            await response.aclose()
            raise
        return response, lines, first
