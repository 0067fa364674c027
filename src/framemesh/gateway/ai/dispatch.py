"""Sending an AI job to an orchestrator that serves its pipeline and model.

`AIDispatcher` tries the orchestrators in `AIDirectory`'s order (`ai_selection`),
paying each when the gateway runs on a chain; checks what comes back (the outputs
asked for, each C2PA-signed for this job, pipeline, model and input by the
orchestrator that did the work); and fails over on an error, a timeout, a dead worker
or a bad result, up to `ai_attempts` orchestrators. A full one (503 busy) is skipped,
not counted as a failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from framemesh.gateway.ai.directory import BUSY_NOW, AIDirectory, expected_outputs, request_parts
from framemesh.gateway.core.waiting import LineFull, WaitedTooLong, WaitLine
from framemesh.gateway.errors import (
    GatewayError,
    PeerBusy,
    PeerFailed,
    PeerRefused,
)
from framemesh.gateway.core.payer import pay_and_call
from framemesh.gateway.core.peer import OrchestratorClient
from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.scores import Work
from framemesh.gateway.core.checks import provenance_problem
from framemesh.gateway.metrics import GatewayMetrics
from framemesh.wire.ai import AICapability, AIResult

log = logging.getLogger("framemesh.gateway")

PROGRESS_INTERVAL = 1.0  # seconds between readings of a running job's progress
Slot = tuple[str, str, str]  # an orchestrator's (url, pipeline, model id)


class NoOrchestrator(GatewayError):
    """No orchestrator offers the pipeline and model (status 404) or none could do it (503);
    `transient`: none can now, but that will pass (busy, just failed); `retry_after`:
    seconds a client should wait before trying again."""

    def __init__(
        self, status: int, msg: str, offers: list[dict[str, str]], *, transient: bool = False, retry_after: float | None = None,
    ) -> None:
        super().__init__(msg)
        self.status = status
        self.offers = offers
        self.transient = transient
        self.retry_after = retry_after


class OrchestratorRefused(GatewayError):
    """An orchestrator said the request itself is bad (4xx): the client's fault, no failover."""

    def __init__(self, status: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status


class AIDispatcher:
    def __init__(
        self,
        directory: AIDirectory,
        pool: OrchestratorPool,
        client: OrchestratorClient,
        payer: Any,
        *,
        timeout: float,
        attempts: int,
        max_price: int | None,
        trust_anchors: list[str] | None = None,
        wait_seconds: float = 30.0,
        line: WaitLine | None = None,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self.metrics = metrics if metrics is not None else GatewayMetrics()
        self.wait_seconds = wait_seconds
        self.line = line if line is not None else WaitLine()
        self.trust_anchors = trust_anchors or []
        self.directory = directory
        self.pool = pool
        self.client = client
        self.payer = payer
        self.timeout = timeout
        self.attempts = attempts
        self.max_price = max_price
        # The gateway's own jobs on each orchestrator's model, and the models that said
        # they are full: neither is sent more work (a request the orchestrator would only
        # refuse) until one of its jobs ends here or its Retry-After runs out. A model is
        # given as many as it admits (one queued per worker), so its worker starts the
        # next job the moment one ends instead of idling for a round trip.
        self.running: Counter[Slot] = Counter()
        self.full_until: dict[Slot, float] = {}

    def is_full(self, url: str, cap: AICapability) -> bool:
        slot = (url, cap.pipeline, cap.model_id)
        return self.running[slot] >= (cap.admits or cap.capacity) or self.full_until.get(slot, 0.0) > time.monotonic()

    def take(self, slot: Slot) -> None:
        """A job of ours goes to `slot`; the next in line looks whether another is free
        (its own attempt holds its turn for the whole job)."""
        self.running[slot] += 1
        self.line.wake()

    def give_back(self, slot: Slot) -> None:
        """A job of ours on `slot` ended: a slot there is free (whatever it said before)."""
        self.running[slot] -= 1
        if self.running[slot] <= 0:
            del self.running[slot]
        self.full_until.pop(slot, None)
        self.line.wake()

    def said_full(self, slot: Slot, retry_after: float) -> None:
        self.full_until[slot] = time.monotonic() + retry_after

    def next_change(self) -> float:
        """Seconds until a model that said it was full, or an avoided orchestrator, may be tried again."""
        now = time.monotonic()
        waits = [t - now for t in self.full_until.values() if t > now]
        pooled = self.pool.next_change(now)
        return min([*waits, *([pooled] if pooled is not None else [])], default=1.0)

    async def run(
        self, pipeline: str, model_id: str, request: Any, units: int, dest_dir: Path, job_id: str,
        on_progress: Callable[[float], None] | None = None, *, key: str = "", wait: float | None = None,
    ) -> tuple[AIResult, dict[str, Path], str]:
        """Run the job on the best orchestrator that will; returns its result, files and URL.
        While every orchestrator that serves it is busy it waits in line (`key`'s, fair
        across keys) up to `wait` seconds (the gateway's `queue_seconds` by default).
        With `on_progress`, the orchestrator's progress (0..1) is read about once a second."""
        errors: list[str] = []
        tried = [0]

        async def attempt() -> tuple[AIResult, dict[str, Path], str] | None:
            return await self._try(pipeline, model_id, request, units, dest_dir, job_id, on_progress, errors, tried)

        deadline = time.monotonic() + (self.wait_seconds if wait is None else wait)
        try:
            answer = await self.line.serve(key, deadline, attempt)
        except LineFull as exc:
            self.ended(pipeline, model_id, "busy")
            raise NoOrchestrator(503, f"{pipeline} {model_id!r}: {exc}; retry later", [], retry_after=1.0) from exc
        except WaitedTooLong as exc:
            self.ended(pipeline, model_id, "busy")
            why = "; ".join(errors[-3:]) or BUSY_NOW
            raise NoOrchestrator(503, f"{pipeline} {model_id!r}: {exc} ({why})", [], retry_after=1.0) from exc
        except BaseException as exc:
            self.ended(pipeline, model_id, _outcome(exc))
            raise
        finally:
            self.line.wake()  # this job is done (or gone): its orchestrator may take the next
        self.ended(pipeline, model_id, "ok")
        return answer

    def ended(self, pipeline: str, model_id: str, outcome: str) -> None:
        """Count an AI request's end (the model is a label only when the network offers it)."""
        offered = any(o["pipeline"] == pipeline and o["model_id"] == model_id for o in self.directory.offers())
        self.metrics.ai_request(pipeline, model_id, outcome, offered)

    async def _try(
        self, pipeline: str, model_id: str, request: Any, units: int, dest_dir: Path, job_id: str,
        on_progress: Callable[[float], None] | None, errors: list[str], tried: list[int],
    ) -> tuple[AIResult, dict[str, Path], str] | None:
        """One pass over the orchestrators that can take it now; None when each was busy
        (or none can now), so the caller waits; NoOrchestrator when the attempts are spent."""
        ranked = self.ranked_now(pipeline, model_id)
        if ranked is None:
            return None
        busy_for: list[float] = []
        for url, price_per_unit in ranked:
            if tried[0] >= self.attempts:
                break
            price = price_per_unit * units
            staging = dest_dir.with_name(f".{dest_dir.name}-{tried[0]}")  # served only once verified
            watcher = asyncio.create_task(self._watch(url, job_id, on_progress)) if on_progress else None
            slot = (url, pipeline, model_id)
            self.take(slot)
            work = Work.ai(pipeline, model_id)
            started = time.monotonic()
            try:
                try:
                    result, files = await self._pay_and_send(url, pipeline, request, price, staging, job_id)
                finally:
                    self.give_back(slot)
                round_trip = time.monotonic() - started
                await self._verify(url, pipeline, model_id, request, result, files, job_id)
                self.metrics.ai_try(pipeline, url, "ok", time.monotonic() - started)
            except PeerBusy as exc:
                self.metrics.ai_try(pipeline, url, "busy")
                shutil.rmtree(staging, ignore_errors=True)
                self.said_full(slot, exc.retry_after)
                busy_for.append(exc.retry_after)
                continue  # busy is not a try: it costs no attempt
            except PeerFailed as exc:
                self.metrics.ai_try(pipeline, url, exc.kind)
                shutil.rmtree(staging, ignore_errors=True)
                log.warning("AI job %s: %s; failing over", job_id, exc)
                self.failed(url, exc, work)
                errors.append(str(exc))
                tried[0] += 1
                continue
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            finally:
                if watcher is not None:
                    watcher.cancel()
            staging.rename(dest_dir)
            files = {name: dest_dir / path.name for name, path in files.items()}
            if url in self.pool.members:
                self.pool.succeeded(url, round_trip, time.monotonic(), work=work)
            return result, files, url
        if tried[0] >= self.attempts:
            raise NoOrchestrator(503, f"{pipeline} {model_id!r} failed on every orchestrator tried: " + "; ".join(errors), [])
        self.line.wake_after(min(busy_for) if busy_for else self.next_change())
        return None

    async def _watch(self, url: str, job_id: str, on_progress: Callable[[float], None]) -> None:
        """Pass on the orchestrator's progress until cancelled; a missed reading is no error."""
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            try:
                progress = await self.client.ai_progress(url, job_id)
            except PeerFailed:
                continue  # not begun yet, or just finished
            on_progress(progress.fraction)

    async def _verify(
        self, url: str, pipeline: str, model_id: str, request: Any, result: AIResult, files: dict[str, Path], job_id: str
    ) -> None:
        """Refuse a result that is not what was asked, or whose outputs' provenance is wrong."""
        from framemesh.provenance.verify import read_provenance

        if (result.pipeline, result.model_id, result.job_id) != (pipeline, model_id, job_id):
            raise PeerFailed(url, "bad_result", f"answered for {result.pipeline} {result.model_id!r} job {result.job_id}")
        expected = expected_outputs(pipeline, request)
        if expected is not None and len(result.outputs) != expected:
            raise PeerFailed(url, "bad_result", f"returned {len(result.outputs)} outputs, asked for {expected}")
        _, inputs = request_parts(request)
        sources = [hashlib.sha256(data).hexdigest() for data in inputs.values() if data]
        member = self.pool.members.get(url)
        for output in result.outputs:
            verdict = await asyncio.to_thread(read_provenance, files[output.file], trust_anchors=self.trust_anchors or None)
            problem = provenance_problem(
                verdict, job_id=job_id, expected_address=member.address if member else None,
                source_sha256=sources[0] if sources else None, strict_trust=bool(self.trust_anchors),
            )
            active = verdict.active
            if problem is None and active is not None and (active.pipeline, active.model) != (pipeline, model_id):
                problem = f"its manifest names {active.pipeline} {active.model!r}"
            if problem is None and active is not None and not set(sources) <= set(active.ingredient_sha256):
                problem = "its manifest does not name every input it was sent as an ingredient"
            if problem is not None:
                raise PeerFailed(url, "bad_result", f"{output.file} failed the provenance check: {problem}")

    def ranked(self, pipeline: str, model_id: str) -> list[tuple[str, int]]:
        """(url, price per unit) of the orchestrators to try, best first; NoOrchestrator
        (404: nobody serves it, 503: nobody can now) when there is none."""
        ranked, why = self.directory.rank(pipeline, model_id, self.pool, time.monotonic(), self.max_price, self.is_full)
        if not ranked:
            offers = self.directory.offers()
            if why is None:
                listed = ", ".join(f"{o['pipeline']} {o['model_id']!r}" for o in offers) or "nothing yet"
                raise NoOrchestrator(404, f"no orchestrator serves {pipeline} model {model_id!r}; the network offers: {listed}", offers)
            raise NoOrchestrator(503, f"no orchestrator can take {pipeline} {model_id!r} now: {why}", offers,
                                 transient=why == BUSY_NOW, retry_after=1.0 if why == BUSY_NOW else None)
        return ranked

    def ranked_now(self, pipeline: str, model_id: str) -> list[tuple[str, int]] | None:
        """`ranked`, or None when every orchestrator serving it is full or set aside for
        now (a line attempt's "nothing for me": a wake-up is set for when that may change)."""
        try:
            return self.ranked(pipeline, model_id)
        except NoOrchestrator as exc:
            if exc.status == 503 and exc.transient:
                self.line.wake_after(self.next_change())
                return None
            raise

    def failed(self, url: str, exc: PeerFailed, work: Work) -> None:
        """Count a failure of `work` against `url`; a bad result (it cheated) bans it for longest."""
        if url in self.pool.members:
            self.pool.failure(url, time.monotonic(), bad_result=exc.kind == "bad_result", work=work)

    async def _pay_and_send(
        self, url: str, pipeline: str, request: Any, price: int, dest_dir: Path, job_id: str
    ) -> tuple[AIResult, dict[str, Path]]:
        return await pay_and_call(
            self.payer, url, price, lambda payment: self._send(url, pipeline, request, payment, dest_dir, job_id)
        )

    async def _send(
        self, url: str, pipeline: str, request: Any, payment: str | None, dest_dir: Path, job_id: str
    ) -> tuple[AIResult, dict[str, Path]]:
        fields, inputs = request_parts(request)
        try:
            return await self.client.run_ai(
                url, pipeline, fields, inputs, job_id=job_id, dest_dir=dest_dir, timeout=self.timeout, payment=payment
            )
        except PeerRefused as exc:
            raise OrchestratorRefused(exc.status, exc.detail) from exc


def _outcome(exc: BaseException) -> str:
    """How an AI request that raised `exc` ended, for the metrics."""
    if isinstance(exc, NoOrchestrator):
        if exc.status == 404:
            return "no_orchestrator"
        return "busy" if exc.transient or exc.retry_after is not None else "failed"
    if isinstance(exc, OrchestratorRefused):
        return "refused"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "failed"
