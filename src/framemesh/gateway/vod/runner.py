"""Drives transcoding jobs: segment the source, fan segments out to orchestrators,
check what comes back, assemble the HLS ladder.

Each step is recorded in the store before the next begins, so `resume()` after a
restart carries every unfinished job on from where it stood. A segment whose
orchestrator fails goes back to pending and to another orchestrator; it is marked
done once, after its checked renditions are on disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.errors import JobFailed, LeaseLost, PeerBusy, PeerFailed
from framemesh.gateway.vod.jobs import JobState, SegmentState
from framemesh.gateway.core.keys import Charge, no_charge
from framemesh.gateway.core.leases import Lease
from framemesh.gateway.core.takeover import JobTasks
from framemesh.gateway.core.payer import GatewayPayer, pay_and_call
from framemesh.gateway.core.checks import SegmentChecks
from framemesh.gateway.core.peer import OrchestratorClient
from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.uploads import Uploader
from framemesh.gateway.core.waiting import WaitLine
from framemesh.gateway.metrics import VOD, GatewayMetrics
from framemesh.gateway.vod.store import JobRecord, JobStore, SegmentRecord
from framemesh.media.plan import plan_file
from framemesh.media.errors import MediaError
from framemesh.media.hls import LadderSegment, write_ladder
from framemesh.media.profiles import RenditionSpec
from framemesh.media.segment import split_segments
from framemesh.payments.pricing import output_pixels, transcode_price

log = logging.getLogger("framemesh.gateway")


@dataclass(frozen=True)
class _Outcome:
    index: int
    url: str
    ok: bool
    busy: bool = False
    error: str | None = None


class JobRunner(JobTasks):
    def __init__(
        self,
        config: GatewayConfig,
        store: JobStore,
        pool: OrchestratorPool,
        client: OrchestratorClient,
        executor: Executor,
        payer: GatewayPayer | None = None,
        charge: Charge = no_charge,
        line: WaitLine | None = None,
        owner: Callable[[str], str | None] = lambda job_id: None,
        metrics: GatewayMetrics | None = None,
        uploader: Uploader | None = None,
    ) -> None:
        self.config = config
        self.uploader = uploader  # the ladder, once written, goes to the object store (if any)
        self.metrics = metrics if metrics is not None else GatewayMetrics()
        self.line = line if line is not None else WaitLine(config.queue_limit)  # shared with AI and live work
        self.owner = owner  # a job's API key, whose turn in the line its segments take
        self.payer = payer
        self.charge = charge  # each segment delivered, to the job's API key
        self.trust_anchors = [p.read_text() for p in config.trust_anchors]
        self.store = store
        self.pool = pool
        self.client = client
        self.executor = executor
        self.checks = SegmentChecks(
            self.in_pool, trust_anchors=self.trust_anchors, rng=pool.rng,
            first=config.verify_first, fraction=config.verify_fraction,
        )
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # What this gateway holds its jobs under (`core.leases`), and where each running
        # job's working files are: its own folder, or (taken over) the one its first
        # gateway made, when this one can read it.
        self.lease = Lease(config.holder, config.lease_seconds)
        self._work: dict[str, Path] = {}

    # public face

    def submit(self, job_id: str) -> None:
        if job_id in self._tasks and not self._tasks[job_id].done():
            return
        task = asyncio.create_task(self.run(job_id), name=f"job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda done: self._tasks.pop(job_id, None) if self._tasks.get(job_id) is done else None)

    def claim(self, *, own: bool = False) -> list[str]:
        """Claim the jobs no gateway holds (with `own`, starting: those held under this
        gateway's name too); blocking."""
        return [i for i in self.store.leases.claim(self.lease, limit=1000 if own else 20, own=own) if not self.running(i)]

    def take(self, job_ids: list[str]) -> None:
        for job_id in job_ids:
            log.info("resuming job %s", job_id)
            self.submit(job_id)

    async def shutdown(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def job_dir(self, job_id: str) -> Path:
        """The job's working files: its source, segments and renditions before assembly."""
        return self._work.get(job_id) or self.config.jobs_dir / job_id

    def dirs(self, job_id: str) -> list[Path]:
        """Everything a job fills on disk (what retention deletes)."""
        return [self.config.outputs_dir / job_id, self.job_dir(job_id)]

    async def run(self, job_id: str) -> None:
        try:
            other = await asyncio.to_thread(self.store.leases.take, self.lease, job_id)
            if other is not None:
                raise LeaseLost(f"gateway {other} holds it")
            job = await asyncio.to_thread(self.store.job, job_id)
            if not await asyncio.to_thread(job.source.is_file):
                job = await self._fetch_source(job)
            self._work[job_id] = job.source.parent  # ours, or a taken-over job's folder this gateway can read
            plan = await self._plan(job)
            if job.state in (JobState.QUEUED, JobState.SEGMENTING):
                job = await self._segment(job)
            if job.state is JobState.TRANSCODING:
                job = await self._transcode(job, plan)
            if job.state is JobState.ASSEMBLING:
                await self._assemble(job, plan)
            self.metrics.jobs.labels("completed").inc()
        except LeaseLost as exc:
            log.warning("job %s: %s", job_id, exc)
            self._work.pop(job_id, None)
            return  # its files are the new holder's now
        except JobFailed as exc:
            self.metrics.jobs.labels("failed").inc()
            log.warning("job %s failed: %s", job_id, exc)
            await asyncio.to_thread(self.store.add_error, job_id, str(exc))
            await asyncio.to_thread(self.store.set_job_state, job_id, JobState.FAILED, error=str(exc))
        except Exception as exc:  # a bug must fail the job, not leave it hanging
            self.metrics.jobs.labels("failed").inc()
            log.exception("job %s crashed", job_id)
            message = f"internal error: {type(exc).__name__}: {exc}"
            await asyncio.to_thread(self.store.add_error, job_id, message)
            await asyncio.to_thread(self.store.set_job_state, job_id, JobState.FAILED, error=message)
        # Ended (not stopped by a shutdown, which resumes it): its working files are
        # done with; the ladder lives under outputs.
        await asyncio.to_thread(shutil.rmtree, self.job_dir(job_id), ignore_errors=True)
        if self.uploader is not None:  # the store's copy of its source too (work/<job>/, whoever stored it)
            await asyncio.to_thread(self.uploader.forget, self.config.jobs_dir / job_id)
        self._work.pop(job_id, None)

    async def _fetch_source(self, job: JobRecord) -> JobRecord:
        """A job taken over from a gateway on another machine: its source from the object
        store, and its segments cut again (the first gateway's are on its disk)."""
        local = self.config.jobs_dir / job.id / job.source.name
        fetched = self.uploader is not None and await asyncio.to_thread(self.uploader.fetch, local)
        if not fetched:
            raise JobFailed(f"its source ({job.source}) is on another gateway's disk and not in an object store; "
                            "run the gateways with --object-store (or a shared --data-dir) to take jobs over")
        log.info("job %s: its source fetched from the object store; cutting it again here", job.id)
        job = await asyncio.to_thread(self.store.move_source, job.id, local)
        if job.state in (JobState.TRANSCODING, JobState.ASSEMBLING):
            job = await asyncio.to_thread(self.store.set_job_state, job.id, JobState.SEGMENTING)
        return job

    # steps

    async def in_pool(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Run a blocking function in the gateway's worker processes."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _call, fn, args, kwargs)

    async def _plan(self, job: JobRecord) -> tuple[RenditionSpec, ...]:
        try:
            specs, _ = await self.in_pool(plan_file, job.source, job.profiles)
        except MediaError as exc:
            raise JobFailed(f"the source is not a usable video: {exc}") from exc
        return specs

    async def _segment(self, job: JobRecord) -> JobRecord:
        await asyncio.to_thread(self.store.set_job_state, job.id, JobState.SEGMENTING)
        seg_dir = self.job_dir(job.id) / "segments"
        shutil.rmtree(seg_dir, ignore_errors=True)
        try:
            segments = await self.in_pool(
                split_segments, job.source, seg_dir, target_duration=self.config.segment_duration
            )
        except MediaError as exc:
            raise JobFailed(f"could not cut the source into segments: {exc}") from exc
        await asyncio.to_thread(self.store.set_segments, job.id, [(s.index, s.path, s.start, s.duration) for s in segments])
        log.info("job %s: %d segments", job.id, len(segments))
        return await asyncio.to_thread(self.store.set_job_state, job.id, JobState.TRANSCODING)

    async def _transcode(self, job: JobRecord, plan: tuple[RenditionSpec, ...]) -> JobRecord:
        await asyncio.to_thread(self.store.requeue_running, job.id)
        pending = [s.index for s in await asyncio.to_thread(self.store.segments, job.id) if s.state is SegmentState.PENDING]
        running: set[asyncio.Task[_Outcome]] = set()
        if not self.pool.members:
            raise JobFailed("the gateway knows no orchestrators; start it with --orchestrator URL")
        key = await asyncio.to_thread(self.owner, job.id) or ""
        # One segment at a time waits in the gateway's line for a free orchestrator, in
        # turn with AI requests and other jobs (fair across API keys); the job was
        # accepted, so it has no deadline and the line's length does not refuse it.
        slot: asyncio.Task[str] | None = None
        try:
            while pending or running:
                if pending and slot is None:
                    slot = asyncio.create_task(self.line.serve(key, None, self._free_orchestrator, bounded=False))
                done, _ = await asyncio.wait(running | ({slot} if slot else set()), return_when=asyncio.FIRST_COMPLETED)
                if slot is not None and slot in done:
                    url, slot = slot.result(), None
                    index = pending.pop(0)
                    if not await asyncio.to_thread(self.store.claim_segment, job.id, index, self.lease):
                        self.pool.release(url)
                        raise LeaseLost(f"another gateway took it over; segment {index} is its to run")
                    running.add(asyncio.create_task(self._run_segment(job, index, url, plan)))
                for task in done & running:
                    running.discard(task)
                    outcome = task.result()
                    if outcome.ok:
                        self.metrics.segment_end(VOD, "done")
                        continue
                    seg = await asyncio.to_thread(self.store.segment, job.id, outcome.index)
                    if outcome.busy:
                        await asyncio.to_thread(self.store.set_segment_state, job.id, outcome.index, SegmentState.PENDING)
                        pending.insert(0, outcome.index)
                        continue
                    await asyncio.to_thread(self.store.add_error, job.id, outcome.error or "failed", segment=outcome.index, orchestrator=outcome.url)
                    if seg.attempts >= self.config.max_attempts:
                        self.metrics.segment_end(VOD, "failed")
                        await asyncio.to_thread(self.store.set_segment_state, job.id, outcome.index, SegmentState.FAILED)
                        raise JobFailed(
                            f"segment {outcome.index} failed {seg.attempts} times; last: {outcome.error}"
                        )
                    await asyncio.to_thread(self.store.set_segment_state, job.id, outcome.index, SegmentState.PENDING)
                    pending.insert(0, outcome.index)
        finally:
            for t in running:
                t.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            if slot is not None:
                slot.cancel()
                got = (await asyncio.gather(slot, return_exceptions=True))[0]
                if isinstance(got, str):  # a slot taken as the job ended: give it back
                    self.pool.release(got)
                    self.line.wake()
        return await asyncio.to_thread(self.store.set_job_state, job.id, JobState.ASSEMBLING)

    async def _free_orchestrator(self) -> str | None:
        """A line attempt: an orchestrator with a free slot, now; else None, and a wake-up
        for when a backed-off one may take work again."""
        now = time.monotonic()
        url = self.pool.acquire(now)
        if url is None:
            self.line.wake_after(self.pool.next_change(now) or 1.0)
        return url

    async def _run_segment(
        self, job: JobRecord, index: int, url: str, plan: tuple[RenditionSpec, ...]
    ) -> _Outcome:
        seg = await asyncio.to_thread(self.store.segment, job.id, index)
        work = self.job_dir(job.id) / "incoming" / f"{index:05d}-{os.urandom(4).hex()}"
        holding = True
        try:
            price = 0
            if self.payer is not None:
                price = transcode_price(self.pool.members[url].price_per_pixel, plan, seg.duration)
            result, files, seconds = await pay_and_call(
                self.payer, url, price,
                lambda payment: self.client.transcode(
                    url, seg.path, tuple(s.name for s in plan), job_id=job.id, index=index, dest_dir=work,
                    duration=seg.duration if self.payer is not None else None, payment=payment,
                ),
            )
            # The orchestrator is done with this segment: let it start the next one
            # while we check this one (the check is a third of a slot's time otherwise).
            self.pool.release(url)
            holding = False
            self.line.wake()
            member = self.pool.members.get(url)
            await self.checks.check(
                url, seg.path, seg.job_id, member.address if member else None, plan, result.renditions, files
            )
            await asyncio.to_thread(
                self._commit, job.id, seg, files, {r.name: r.file for r in result.renditions}, url,
                output_pixels(plan, seg.duration), price,
            )
            self.pool.succeeded(url, seconds, time.monotonic(), duration=seg.duration)
            self.metrics.segment_try(VOD, url, "ok", seconds, seg.duration)
            return _Outcome(index, url, ok=True)
        except PeerBusy as exc:
            self.metrics.segment_try(VOD, url, "busy")
            self.pool.busy(url, time.monotonic(), exc.retry_after)
            return _Outcome(index, url, ok=False, busy=True)
        except PeerFailed as exc:
            self.metrics.segment_try(VOD, url, exc.kind)
            # Paid and delivered garbage: no more work (and so no more pay) for a long while.
            until = self.pool.failure(url, time.monotonic(), bad_result=exc.kind == "bad_result")
            log.warning("job %s segment %d: %s (avoided for %.0f s)", job.id, index, exc, until - time.monotonic())
            await asyncio.to_thread(self.store.bump_attempts, job.id, index)
            return _Outcome(index, url, ok=False, error=str(exc))
        finally:
            if holding:
                self.pool.release(url)
            self.line.wake()
            shutil.rmtree(work, ignore_errors=True)

    def _commit(
        self, job_id: str, seg: SegmentRecord, files: dict[str, Path], members: dict[str, str], url: str,
        pixels: int, price: int,
    ) -> None:
        if self.store.segment(job_id, seg.index).state is not SegmentState.RUNNING:
            return  # already delivered by someone else: never twice
        if not self.store.leases.holds(self.lease, job_id):
            raise LeaseLost(f"another gateway took it over before segment {seg.index} was recorded")
        for name, member in members.items():
            target = self.rendition_path(job_id, name, seg.index)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(files[member], target)
        self.store.set_segment_state(job_id, seg.index, SegmentState.DONE, orchestrator=url)
        self.charge(job_id, pixels, price)

    def rendition_path(self, job_id: str, name: str, index: int) -> Path:
        return self.job_dir(job_id) / "renditions" / name / f"seg_{index:05d}.mp4"

    async def _assemble(self, job: JobRecord, plan: tuple[RenditionSpec, ...]) -> None:
        await asyncio.to_thread(self.store.set_job_state, job.id, JobState.ASSEMBLING)
        segments = await asyncio.to_thread(self.store.segments, job.id)
        missing = [s.index for s in segments if s.state is not SegmentState.DONE]
        if missing:
            raise JobFailed(f"segments {missing} were never transcoded")
        ladder = {
            spec.name: [
                LadderSegment(
                    path=self.rendition_path(job.id, spec.name, s.index),
                    duration=s.duration,
                    width=spec.width,
                    height=spec.height,
                    bandwidth=spec.video_bitrate + spec.audio_bitrate,
                )
                for s in segments
            ]
            for spec in plan
        }
        out_dir = self.config.outputs_dir / job.id
        shutil.rmtree(out_dir, ignore_errors=True)
        try:
            master = await self.in_pool(write_ladder, out_dir, ladder)
        except MediaError as exc:
            raise JobFailed(f"could not write the HLS ladder: {exc}") from exc
        rel = Path(master).relative_to(self.config.outputs_dir).as_posix()
        if self.uploader is not None:  # recorded before the job completes: a crash here re-assembles it
            files = await asyncio.to_thread(lambda: sorted(p for p in out_dir.rglob("*") if p.is_file()))
            await self.uploader.add(files)
        await asyncio.to_thread(self.store.set_job_state, job.id, JobState.COMPLETED, master=rel)
        log.info("job %s completed: %s", job.id, rel)


def _call(fn, args, kwargs):  # type: ignore[no-untyped-def]
    return fn(*args, **kwargs)
