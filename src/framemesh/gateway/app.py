"""The gateway's public HTTP service, wired together: one core (the orchestrator pool,
discovery, payments, the peer client, records, retention) and one sub-package per
kind of work on it: `vod` (transcode jobs), `ai` (Livepeer's AI API, staged jobs,
LLM), `live` (live streams).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from framemesh import __version__
from framemesh.gateway.ai.directory import AIDirectory
from framemesh.gateway.ai.dispatch import AIDispatcher
from framemesh.gateway.ai.job_routes import install_ai_job_routes
from framemesh.gateway.ai.llm_routes import install_llm_routes
from framemesh.gateway.ai.routes import install_ai_routes, install_unknown_pipeline
from framemesh.gateway.ai.runner import AIJobRunner
from framemesh.gateway.ai.store import AIJobStore
from framemesh.gateway.auth import GUARDED, Access, operator_only
from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.core.database import open_records
from framemesh.gateway.core.keys import KeyStore
from framemesh.gateway.core.discovery import discover_async
from framemesh.gateway.core.files import file_under
from framemesh.gateway.core.payer import GatewayPayer
from framemesh.gateway.core.peer import OrchestratorClient
from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.probe import Prober
from framemesh.gateway.core.score_store import ScoreRecorder, ScoreStore
from framemesh.gateway.core.senders import SenderClaim
from framemesh.gateway.core.scores import Scoreboard
from framemesh.gateway.core.retention import Janitor, Kept
from framemesh.gateway.core.takeover import LeaseKeeper
from framemesh.gateway.core.uploads import Uploader, UploadStore
from framemesh.gateway.core.waiting import WaitLine
from framemesh.gateway.outputs import StoredOutputs
from framemesh.storage import open_store
from framemesh.wire.gateway import QueueOut
from framemesh.gateway.errors import PeerFailed
from framemesh.gateway.keys_routes import install_key_routes
from framemesh.gateway.metrics import GatewayMetrics
from framemesh.gateway.live.routes import install_live_routes
from framemesh.gateway.live.session import LiveParts
from framemesh.gateway.live.store import StreamStore
from framemesh.gateway.live.streams import LiveStreams
from framemesh.gateway.score_routes import install_score_routes
from framemesh.gateway.vod.routes import install_vod_routes
from framemesh.gateway.vod.runner import JobRunner
from framemesh.gateway.vod.store import JobStore
from framemesh.net.api_errors import ApiError, documented, install_error_handlers
from framemesh.net.client import make_client
from framemesh.net.metrics import install_metrics_route
from framemesh.workers import worker_pool

log = logging.getLogger("framemesh.gateway")

UPLOAD_TYPES = ("video/", "application/octet-stream")


class Gateway:
    """What the running service holds. With `protocol` and `signer` it finds
    orchestrators on the chain and pays them with tickets."""

    def __init__(self, config: GatewayConfig, protocol: Any = None, signer: Any = None) -> None:
        self.config = config
        self.protocol = protocol
        self.explorer: Any = None  # the network's explorer (on a chain), mounted at /explorer
        self.metrics = GatewayMetrics()
        # One connection to the gateway's database, shared by every store of its records.
        self.database = open_records(config.database, config.db_path)
        # Its ticket state (nonces, balances) is in this process: one process per account.
        self.sender_claim: SenderClaim | None = None
        if protocol is not None and signer is not None:
            try:
                self.sender_claim = SenderClaim.take(self.database, signer.address)
            except BaseException:
                self.database.close()
                raise
        self.store = JobStore(self.database)
        # Outputs are written to the local folder first, then (with an object store) uploaded.
        self.objects = open_store(config.object_store, config.outputs_dir)
        self.uploader = Uploader(self.objects, UploadStore(self.database, holder=config.holder), config.outputs_dir,
                                 max_delay=config.object_store_retry_max, work_dir=config.jobs_dir)
        self.keys = KeyStore(self.database)
        self.access = Access(self.keys, open=config.open, token=config.api_token, admin_token=config.admin_token)
        self.pool = OrchestratorPool(
            base_avoid=config.avoid_seconds, max_avoid=config.max_avoid_seconds,
            scores=Scoreboard(window=config.score_window), score_weights=config.score_weights,
        )
        for url in config.orchestrators:
            self.pool.add(url.rstrip("/"))
        self.executor = worker_pool(config.verify_workers)
        self.http = make_client(timeout=config.segment_timeout)
        self.client = OrchestratorClient(self.http, segment_timeout=config.segment_timeout)
        self.payer: GatewayPayer | None = None
        if protocol is not None:
            if signer is None:
                raise ValueError("a gateway on a chain needs a signer (its account) to sign tickets")
            self.payer = GatewayPayer(protocol, signer, self.client.ticket_params)
        # One line for every kind of work waiting for a free orchestrator.
        self.line = WaitLine(config.queue_limit, on_served=self.metrics.waited)
        self.runner = JobRunner(config, self.store, self.pool, self.client, self.executor, self.payer, self.keys.charge,
                                line=self.line, owner=self.keys.owner, metrics=self.metrics, uploader=self.uploader)
        self.ai = AIDispatcher(
            AIDirectory(), self.pool, self.client, self.payer, timeout=config.ai_timeout,
            attempts=config.ai_attempts, max_price=config.max_price_per_unit,
            trust_anchors=self.runner.trust_anchors, wait_seconds=config.queue_seconds, line=self.line,
            metrics=self.metrics,
        )
        self.ai_store = AIJobStore(self.database)
        self.ai_runner = AIJobRunner(
            self.ai_store, self.ai, config.outputs_dir, config.jobs_dir, result_cache=config.ai_result_cache,
            keys=self.keys, uploader=self.uploader, lease=self.runner.lease,
        )
        self.live = LiveStreams(
            LiveParts(
                pool=self.pool, client=self.client, payer=self.payer, checks=self.runner.checks,
                store=StreamStore(self.database), outputs_dir=config.outputs_dir, work_dir=config.jobs_dir,
                in_pool=self.runner.in_pool, window=config.live_window, segment_duration=config.live_segment_duration,
                deadline_factor=config.live_deadline_factor, charge=self.keys.charge,
                line=self.line, owner=self.keys.owner, ai=self.ai, metrics=self.metrics, uploader=self.uploader,
            ),
            idle_timeout=config.live_idle_timeout, rtmp_host=config.rtmp_host or config.host, rtmp_port=config.rtmp_port,
            lease=self.runner.lease,
        )
        # With several gateways on one database: each holds the jobs and streams it runs,
        # and takes over those whose gateway stopped renewing (`core.leases`).
        self.leases = LeaseKeeper(self.runner.lease, [self.runner, self.ai_runner, self.live])
        self.janitor = None
        if config.retention is not None:
            self.janitor = Janitor(
                [Kept(self.store, self.runner.dirs), Kept(self.ai_store, self.ai_runner.dirs),
                 Kept(self.live.store, self.live.dirs)],
                retention=config.retention, interval=config.retention_interval, forget=self.uploader.forget,
            )
        self.score_store = ScoreStore(self.database)
        self.score_recorder = ScoreRecorder(
            self.score_store, self.pool.scores, self._address, interval=config.score_interval, retention=config.score_retention,
        )
        self.prober = None
        if config.probe_interval is not None:
            self.prober = Prober(self.pool, self.client, self.payer, self.runner.checks, config.jobs_dir,
                                 interval=config.probe_interval, on_free=self.line.wake)
        self._background: list[asyncio.Task[None]] = []
        self._last_discovery = 0.0
        self.metrics.bind(self)

    async def start(self) -> None:
        for path in (self.config.outputs_dir, self.config.jobs_dir):
            path.mkdir(parents=True, exist_ok=True)
        await self.refresh_orchestrators()
        self._background.append(asyncio.create_task(self._refresh_loop(), name="orchestrator-refresh"))
        if self.sender_claim is not None:  # taken over: stop, as SIGTERM does
            lost = partial(os.kill, os.getpid(), signal.SIGTERM)
            self._background.append(asyncio.create_task(self.sender_claim.run(lost), name="sender-claim"))
        if self.objects.remote:
            self._background.append(asyncio.create_task(self.uploader.run(), name="object-store-uploads"))
        if self.janitor is not None:
            self._background.append(asyncio.create_task(self.janitor.run(), name="retention"))
        self._background.append(asyncio.create_task(self.score_recorder.run(), name="score-history"))
        if self.prober is not None:
            self._background.append(asyncio.create_task(self.prober.run(), name="test-jobs"))
        self.runner.resume()
        self.ai_runner.resume()
        self._background.append(asyncio.create_task(self.leases.run(), name="job-leases"))
        await self.live.start()

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        try:  # the scores since the last point, so a stop loses none of the history
            await asyncio.to_thread(self.score_recorder.write, self.score_recorder.sample())
        except Exception as exc:
            log.warning("score history: %s", exc)
        await self.live.stop()
        await self.runner.shutdown()
        await self.ai_runner.shutdown()
        try:  # another gateway may carry them on now, not a lease later
            await asyncio.to_thread(self.leases.release)
        except Exception as exc:
            log.warning("job leases: %s", exc)
        await self.http.aclose()
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.sender_claim is not None:  # no more payments from here: the account is free
            self.sender_claim.release()
        self.database.close()

    def _address(self, url: str) -> str | None:
        member = self.pool.members.get(url)
        return member.address if member is not None else None

    async def discover(self) -> None:
        """Read the active set and service URIs from the chain into the pool."""
        if self.protocol is None:
            return
        try:
            found = await discover_async(self.protocol)
        except Exception as exc:  # the chain may be down for a moment; keep the pool we have
            log.warning("discovery from the chain failed: %s", exc)
            return
        urls = {d.url for d in found}
        for d in found:
            member = self.pool.add(d.url, self.pool.members[d.url].capacity if d.url in self.pool.members else 1)
            member.stake, member.address = d.stake, d.address
        for url in list(self.pool.members):
            if url not in urls and url not in self.config.orchestrators:
                self.pool.remove(url)
                self.ai.directory.forget(url)
        self._last_discovery = time.monotonic()

    async def refresh_orchestrators(self) -> None:
        if self.protocol is not None and time.monotonic() - self._last_discovery >= self.config.discovery_interval:
            await self.discover()

        async def probe(url: str) -> None:
            try:
                info = await self.client.info(url)
            except PeerFailed as exc:
                member = self.pool.members.get(url)
                if member is not None and (not member.known or member.in_flight == 0):
                    self.pool.unreachable(url, time.monotonic())
                log.warning("orchestrator %s", exc)
                return
            member = self.pool.members.get(url)
            if member is not None and not member.departed:
                self.pool.set_info(
                    url, info.capacity, price_per_pixel=info.price_per_pixel, address=info.address,
                    max_price=self.config.max_price_per_pixel,
                )
                self.ai.directory.update(url, info.capabilities.ai)

        await asyncio.gather(*(probe(url) for url in list(self.pool.members)))
        self.line.wake()  # capacity may have grown

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.info_refresh_seconds)
            await self.refresh_orchestrators()



def create_app(config: GatewayConfig, *, protocol: Any = None, signer: Any = None) -> FastAPI:
    gateway = Gateway(config, protocol, signer)
    explorer = None
    if protocol is not None and config.explorer:  # the network's explorer, on this gateway's chain; it indexes once browsed
        from framemesh.explorer.in_gateway import InProcessGateway
        from framemesh.explorer.service import build_explorer

        explorer = build_explorer(protocol, config.data_dir / "explorer.sqlite", gateway=InProcessGateway(gateway))
        gateway.explorer = explorer

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        log.info("gateway ready: %s", config.describe())
        try:
            yield
        finally:
            if explorer is not None:
                await explorer.stop()
            await gateway.stop()

    app = FastAPI(title="framemesh gateway", version=__version__, lifespan=lifespan)
    auth = [Depends(gateway.access)]
    if config.open:
        log.warning("this gateway is OPEN (--open): anyone who reaches it spends its deposit")
    app.state.gateway = gateway
    install_error_handlers(app)
    config.outputs_dir.mkdir(parents=True, exist_ok=True)
    if gateway.objects.remote:  # a stored output: a redirect to a presigned URL of it (gateway.outputs)
        app.mount("/outputs", StoredOutputs(directory=config.outputs_dir, uploader=gateway.uploader), name="outputs")
    else:
        app.mount("/outputs", StaticFiles(directory=config.outputs_dir), name="outputs")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", responses=documented(503))
    async def readyz() -> dict[str, object]:
        usable = [m for m in gateway.pool.members.values() if m.known]
        if not usable:
            raise ApiError(503, "not_ready", "no orchestrator has answered yet", headers={"Retry-After": "1"})
        return {"ready": True, "orchestrators": len(usable)}

    @app.get("/orchestrators", dependencies=auth, responses=GUARDED)
    async def orchestrators() -> list[dict[str, object]]:
        return gateway.pool.snapshot(time.monotonic())

    @app.get("/queue", response_model=QueueOut, dependencies=[*auth, Depends(operator_only)], responses={**GUARDED, **documented(403)})
    async def queue() -> QueueOut:
        """The line of work waiting for a free orchestrator: now, and since the gateway started."""
        line = gateway.line
        st = line.stats
        return QueueOut(
            waiting=line.waiting, limit=line.limit, served=st.served, waited=st.waited, full=st.full,
            timed_out=st.timed_out, wait_seconds_total=st.wait_total, wait_seconds_max=st.wait_max,
            wait_seconds_p50=st.percentile(0.5), wait_seconds_p95=st.percentile(0.95),
        )

    @app.get("/payments", dependencies=[*auth, Depends(operator_only)], responses={**GUARDED, **documented(403)})
    async def payments() -> dict[str, object]:
        """What this gateway has paid in tickets (empty off-chain)."""
        if gateway.payer is None:
            return {"enabled": False}
        return {"enabled": True, "address": gateway.payer.address, **gateway.payer.stats()}

    # A scraper sends the operator's token (Prometheus: `authorization` in its scrape
    # config): the figures are the operator's business, as /queue and /payments are.
    install_metrics_route(app, gateway.metrics.set, before=gateway.metrics.before_scrape,
                          dependencies=[*auth, Depends(operator_only)], responses={**GUARDED, **documented(403)})

    @app.get("/provenance/{output:path}", dependencies=auth, responses={**GUARDED, **documented(404, 422)})
    async def provenance(output: str) -> dict[str, object]:
        """The C2PA provenance of an output file (a path under /outputs/), in facts."""
        path = await asyncio.to_thread(file_under, config.outputs_dir, output.removeprefix("outputs/"))
        if path is None:
            raise ApiError(404, "not_found", f"no output {output!r}")
        from framemesh.provenance.verify import read_provenance

        anchors = gateway.runner.trust_anchors or None
        verdict = await asyncio.get_running_loop().run_in_executor(
            gateway.executor, partial(read_provenance, path, trust_anchors=anchors)
        )
        body = verdict.to_dict()
        body["path"] = path.relative_to(config.outputs_dir.resolve()).as_posix()
        return body

    install_score_routes(app, gateway.pool, gateway.score_store, auth)
    install_key_routes(app, gateway.keys, config.admin_token, gateway.access)
    install_vod_routes(app, gateway, auth)
    install_live_routes(app, gateway.live, gateway.access, auth, config.default_profiles)
    ai_routes = install_ai_routes(app, config, gateway.ai, gateway.ai_runner, gateway.access)
    install_ai_job_routes(app, ai_routes, gateway.ai_runner)
    install_llm_routes(app, ai_routes)
    install_unknown_pipeline(app, ai_routes)  # last: it matches any POST /name
    if explorer is not None:
        from framemesh.explorer.app import create_explorer_app

        app.mount("/explorer", create_explorer_app(explorer))
    return app
