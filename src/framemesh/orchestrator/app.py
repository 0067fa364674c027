"""The orchestrator's HTTP service: info, health, stats and metrics, and transcoding of
one segment.

A segment arrives as the raw request body (so the node can refuse it for capacity
or size before reading it) with the wanted profiles in the query string; the
answer is a tar bundle of renditions (see `framemesh.wire.bundle`).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
import uuid
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from framemesh import __version__
from framemesh.media.errors import InvalidMediaError, MediaError, UnknownProfileError
from framemesh.media.plan import plan_file
from framemesh.media.profiles import parse_profiles
from framemesh.net.api_errors import ApiError, documented, install_error_handlers
from framemesh.net.metrics import install_metrics_route
from framemesh.orchestrator.ai_routes import AIService, install_ai_routes
from framemesh.orchestrator.billing import Billing, Reservation
from framemesh.orchestrator.capacity import CapacityLimiter
from framemesh.orchestrator.config import OrchestratorConfig
from framemesh.orchestrator.duties import RoundDuties
from framemesh.orchestrator.metrics import OrchestratorMetrics, in_flight
from framemesh.orchestrator.signing import SigningSpec, dev_signing_spec
from framemesh.orchestrator.faults import Faults
from framemesh.orchestrator.work import transcode_to_bundle
from framemesh.workers import worker_pool
from framemesh.payments.pricing import transcode_price
from framemesh.payments.recipient import RecipientTerms
from framemesh.wire.bundle import MEDIA_TYPE
from framemesh.wire.orchestrator import Capabilities, OrchestratorInfo, OrchestratorStats, TranscodeCapability
from framemesh.wire.payment import PAYMENT_HEADER, TicketParamsWire

log = logging.getLogger("framemesh.orchestrator")

SEGMENT_TYPES = ("video/", "application/octet-stream")



class OrchestratorState:
    """What the running service holds: its limiter, its worker pool, its counters and
    metrics, its AI service (if any), and (with a chain) its billing and round duties."""

    def __init__(self, config: OrchestratorConfig, billing: Billing | None, duties: RoundDuties | None) -> None:
        self.config = config
        self.limiter = CapacityLimiter(config.capacity)
        self.executor: Executor | None = None
        self.segments_done = 0
        self.pixels_done = 0
        self.fees_charged = 0
        self.work_root = config.data_dir / "work"
        self.billing = billing
        self.duties = duties
        self.ai: AIService | None = None
        self.metrics = OrchestratorMetrics()

    async def run(self, fn: partial[Any]) -> Any:
        if self.executor is None:
            raise RuntimeError("the orchestrator's worker pool is not started (use the app's lifespan)")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, fn)
        except BrokenProcessPool:
            # A worker died (crash, OOM kill): replace the pool so the next job runs.
            log.error("a transcoding worker died; restarting the worker pool")
            self.executor = worker_pool(self.config.capacity)
            raise


async def _read_body(request: Request, limit: int, dest: Path) -> int:
    size = 0
    with dest.open("wb") as fh:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "too_large", f"segment is larger than the {limit}-byte limit")
            fh.write(chunk)
    return size


def create_app(config: OrchestratorConfig, *, protocol: Any = None, signer: Any = None) -> FastAPI:
    """The orchestrator service; with `protocol` (a `framemesh.protocol.network.Protocol`)
    and `signer` it charges for work in tickets, redeems winners and does its round duties."""
    billing = duties = None
    if protocol is not None:
        if signer is None:
            raise ValueError("an orchestrator on a chain needs a signer (its account)")
        terms = RecipientTerms(config.ticket_face_value, _win_prob(config))
        billing = Billing(protocol, signer, config.data_dir, terms, config.price_per_pixel)
        duties = RoundDuties(protocol, signer)
    state = OrchestratorState(config, billing, duties)
    signing = _signing_spec(config, signer.address if signer is not None else None)
    ai = state.ai = _ai_service(config, state, signing)
    metrics = state.metrics
    metrics.bind(state)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.work_root.mkdir(parents=True, exist_ok=True)
        state.executor = worker_pool(config.capacity)
        background = []
        if billing is not None and duties is not None:
            background.append(asyncio.create_task(duties.run(config.duties_interval), name="round-duties"))
            background.append(asyncio.create_task(billing.redeemer.run(config.redeem_interval), name="redeemer"))
            background.append(asyncio.create_task(billing.keep_fresh(), name="chain-facts"))
        if ai is not None:
            await ai.start()  # the warm models load before the node serves
        log.info("orchestrator %s ready: %s", config.name, config.describe())
        try:
            yield
        finally:
            if ai is not None:
                await ai.stop()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            state.executor.shutdown(wait=False, cancel_futures=True)
            if billing is not None:
                billing.close()

    app = FastAPI(title="framemesh orchestrator", version=__version__, lifespan=lifespan)
    app.state.orchestrator = state
    app.state.ai = ai
    install_error_handlers(app)
    if config.slow_seconds or config.fail_share:
        app.add_middleware(Faults, slow_seconds=config.slow_seconds, fail_share=config.fail_share)

    def info() -> OrchestratorInfo:
        return OrchestratorInfo(
            name=config.name,
            version=__version__,
            address=billing.address if billing else None,
            capabilities=Capabilities(
                transcode=TranscodeCapability(
                    profiles=list(config.profiles), price_per_pixel=config.price_per_pixel
                ),
                ai=ai.capabilities() if ai is not None else [],
            ),
            price_per_pixel=config.price_per_pixel,
            capacity=config.capacity,
            load=state.limiter.load,
        )

    @app.get("/info", response_model=OrchestratorInfo)
    async def get_info() -> OrchestratorInfo:
        return info()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", responses=documented(503))
    async def readyz() -> dict[str, object]:
        if state.executor is None:
            raise ApiError(503, "not_ready", "worker pool not started", headers={"Retry-After": "1"})
        return {"ready": True, "load": state.limiter.load, "capacity": config.capacity}

    @app.get("/stats", response_model=OrchestratorStats)
    async def stats() -> OrchestratorStats:
        """What this orchestrator has done since it started, and the work it has in hand
        (counts by kind only: nothing about whose it is)."""
        return OrchestratorStats(
            segments_done=state.segments_done,
            pixels_done=state.pixels_done,
            fees_charged_wei=str(state.fees_charged),
            load=state.limiter.load,
            capacity=config.capacity,
            in_flight=in_flight(state),
            payments=billing.stats() if billing is not None else None,
            ai={"jobs_done": ai.jobs_done, "fees_charged_wei": str(ai.fees_charged)} if ai is not None else None,
            rewards={str(k): str(v) for k, v in duties.rewards.items()} if duties is not None else None,
        )

    install_metrics_route(app, metrics.set, before=metrics.before_scrape)

    @app.get("/ticket-params", response_model=TicketParamsWire, responses=documented(404, 422))
    async def ticket_params(sender: str = Query(pattern="^0x[0-9a-fA-F]{40}$")) -> TicketParamsWire:
        """Fresh ticket parameters for `sender` (a gateway's address); 404 off-chain."""
        if billing is None:
            raise ApiError(404, "no_payments", "this orchestrator runs without a chain: its work is free")
        return await billing.params(sender)

    @app.post(
        "/transcode",
        response_class=FileResponse,
        responses={
            200: {"content": {MEDIA_TYPE: {}}, "description": "A tar bundle: result.json, then one fMP4 per rendition."},
            **documented(400, 402, 413, 415, 422),
            500: {**documented(500)[500], "description": "The segment could not be transcoded for a reason of ours (transcode_failed)."},
            503: {**documented(503)[503], "description": "At capacity (busy), or its worker died (worker_died); "
                  "retry after the Retry-After header's seconds."},
        },
    )
    async def transcode(
        request: Request,
        profiles: str = Query(description="Comma-separated profile names, e.g. 720p,360p"),
        job_id: str = Query(default="", max_length=128),
        segment: int = Query(default=0, ge=0),
        duration: float | None = Query(default=None, gt=0, le=3600, description="The segment's duration, seconds (the job is priced by it)."),
    ) -> FileResponse:
        try:
            return await transcode_segment(request, profiles, job_id, segment, duration)
        except BaseException as exc:
            metrics.segment_failed(exc)
            raise

    async def transcode_segment(
        request: Request, profiles: str, job_id: str, segment: int, duration: float | None
    ) -> FileResponse:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith(SEGMENT_TYPES):
            raise ApiError(415, "unsupported_media_type", f"send the segment as video/* (got {content_type or 'none'})")
        try:
            wanted = parse_profiles(profiles)
        except UnknownProfileError as exc:
            raise ApiError(422, "unknown_profile", str(exc)) from exc
        not_offered = [p.name for p in wanted if p.name not in config.profiles]
        if not_offered:
            raise ApiError(422, "profile_not_offered", f"this orchestrator does not offer {not_offered}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_segment_bytes:
            raise ApiError(413, "too_large", f"segment is larger than the {config.max_segment_bytes}-byte limit")
        if not state.limiter.try_acquire():
            raise ApiError(
                503,
                "busy",
                f"at capacity ({config.capacity} jobs); retry later",
                headers={"Retry-After": str(config.retry_after_seconds)},
            )
        work_dir = Path(tempfile.mkdtemp(prefix=f"seg{segment}-", dir=state.work_root))
        held: Reservation | None = None
        try:
            src = work_dir / "segment.bin"
            if await _read_body(request, config.max_segment_bytes, src) == 0:
                raise ApiError(422, "invalid_media", "the segment is empty")
            job = job_id or uuid.uuid4().hex
            price = 0
            if billing is not None:
                specs, probed = await state.run(partial(plan_file, src, tuple(p.name for p in wanted)))
                if duration is None:
                    raise ApiError(422, "duration_required", "give the segment's duration (the job is priced by it)")
                if abs(probed - duration) > 0.25:
                    raise ApiError(422, "wrong_duration", f"the segment lasts {probed:.3f} s, not {duration} s")
                price = transcode_price(config.price_per_pixel, specs, duration)
                held = await billing.take_payment(request.headers.get(PAYMENT_HEADER), price)
            started = time.perf_counter()
            bundle, pixels = await state.run(
                partial(
                    transcode_to_bundle,
                    src,
                    tuple(p.name for p in wanted),
                    work_dir,
                    job_id=job,
                    index=segment,
                    orchestrator=config.name,
                    preset=config.encoder_preset,
                    signing=signing,
                )
            )
        except BaseException as exc:
            if billing is not None and held is not None:
                billing.release(held)  # not delivered: the price goes back to the sender's credit
            _cleanup(work_dir, state)
            if isinstance(exc, InvalidMediaError):
                raise ApiError(422, "invalid_media", str(exc)) from exc
            if isinstance(exc, MediaError):
                raise ApiError(500, "transcode_failed", str(exc)) from exc
            if isinstance(exc, BrokenProcessPool):
                # a new worker takes its place: retry (a gateway goes elsewhere meanwhile)
                raise ApiError(503, "worker_died", "the transcoding worker died; retry", headers={"Retry-After": "1"}) from exc
            raise
        metrics.segment("ok", time.perf_counter() - started)
        state.segments_done += 1
        state.pixels_done += pixels
        if billing is not None and held is not None:
            state.fees_charged += billing.settle(held)
        return FileResponse(
            bundle,
            media_type=MEDIA_TYPE,
            background=BackgroundTask(_cleanup, work_dir, state),
        )

    install_ai_routes(app, ai)
    return app


def _ai_service(config: OrchestratorConfig, state: OrchestratorState, signing: SigningSpec) -> AIService | None:
    if config.ai_config is None:
        return None
    from framemesh.ai import load_config

    return AIService(
        load_config(config.ai_config), name=config.name, work_root=state.work_root / "ai", signing=signing,
        billing=state.billing, run_in_pool=state.run, max_request_bytes=config.max_segment_bytes,
        timeout=config.ai_timeout, metrics=state.metrics,
    )


def _signing_spec(config: OrchestratorConfig, address: str | None) -> SigningSpec:
    if config.signing_key is not None and config.signing_chain is not None:
        from framemesh.provenance.identity import load_identity

        bound = load_identity(config.signing_key, config.signing_chain).address
        if address is not None and (bound or "").lower() != address.lower():
            raise ValueError(f"the signing certificate names {bound}, but this orchestrator's account is {address}")
        return SigningSpec(config.signing_key, config.signing_chain, bound or address or "")
    return dev_signing_spec(config.dev_keys_dir or config.data_dir / "keys", address=address, name=config.name)


def _win_prob(config: OrchestratorConfig) -> int:
    from framemesh.payments.ticket import win_prob_for

    return win_prob_for(config.ticket_win_prob)


def _cleanup(work_dir: Path, state: OrchestratorState) -> None:
    shutil.rmtree(work_dir, ignore_errors=True)
    state.limiter.release()
