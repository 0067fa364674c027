"""One live stream at work: its segments through the network and into its playlists.

Each segment the ingest cuts is sent at once to an orchestrator, paid with tickets
and checked (its renditions and their manifests, as for a video-on-demand job), then
listed in the live window. The stream sticks to one orchestrator while that one
keeps up (its last round trip within the segment's duration) and moves when it falls
behind, fails or dies; while its orchestrator still works on one segment, the next
goes to another, so a slow answer never holds the stream back.

A segment that fails is retried on another orchestrator until its deadline
(`deadline_factor` x its duration after it arrived). Segments are listed in order:
a later one that is ready waits for an earlier one still in work. Only a segment no
orchestrator delivered by its deadline is skipped: the playlist moves on, with a
discontinuity where it was, and the skip is counted. It never stalls.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from framemesh.ai.units import live_units
from framemesh.gateway.core.uploads import Uploader
from framemesh.gateway.core.keys import Charge, no_charge
from framemesh.gateway.core.checks import SegmentChecks
from framemesh.gateway.core.payer import GatewayPayer, pay_and_call
from framemesh.gateway.core.peer import OrchestratorClient
from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.waiting import WaitedTooLong, WaitLine
from framemesh.gateway.errors import PeerBusy, PeerFailed, PeerRefused
from framemesh.gateway.live.ai_work import OUTPUT, LiveAIWork
from framemesh.gateway.live.events import EventHub
from framemesh.gateway.live.ingest import SourceFacts
from framemesh.gateway.live.playlist import Entry, LiveWindow, Rendition
from framemesh.gateway.metrics import LIVE, LIVE_AI, GatewayMetrics
from framemesh.gateway.live.store import (
    IN_WORK,
    LISTED,
    PENDING,
    SKIPPED,
    ControlRecord,
    SegmentRecord,
    StreamRecord,
    StreamStore,
)
from framemesh.media.hls import LadderSegment, Placed, place_segment, write_ladder
from framemesh.media.probe import probe
from framemesh.media.profiles import RenditionSpec, parse_profiles, plan_renditions
from framemesh.payments.pricing import output_pixels, transcode_price

log = logging.getLogger("framemesh.gateway.live")

RECENT = 20  # segments kept for the status's round trips and latency figures
WAIT_FOR_SLOT = 0.05  # seconds to the next look for a free orchestrator when no wake-up is due


@dataclass
class LiveParts:
    """What every stream shares with the rest of the gateway."""

    pool: OrchestratorPool
    client: OrchestratorClient
    payer: GatewayPayer | None
    checks: SegmentChecks
    store: StreamStore
    outputs_dir: Path  # a stream's renditions go under outputs_dir/live/<id>/
    work_dir: Path  # its source segments and answers in transit, under work_dir/live-<id>/
    in_pool: Callable[..., Awaitable[Any]]
    window: int = 6
    segment_duration: float = 2.0
    deadline_factor: float = 4.0
    min_deadline: float = 6.0
    charge: Charge = no_charge  # each segment listed, to the stream's API key
    # The gateway's one line for a free orchestrator (shared with AI and transcode
    # work), and whose turn in it a stream's segments take: its API key's.
    line: WaitLine = field(default_factory=WaitLine)
    owner: Callable[[str], str | None] = lambda stream_id: None
    ai: Any = None  # the AIDispatcher: who serves which live AI model, and its slots
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)
    uploader: Uploader | None = None  # segments and recordings to the object store (if any)


@dataclass
class Piece:
    """A segment from its arrival to its listing (or skip)."""

    seq: int
    source: Path
    duration: float
    first_frame_at: float
    received: float  # monotonic
    received_wall: float
    facts: SourceFacts
    discontinuity: bool
    state: str = "running"
    orchestrator: str | None = None
    attempts: int = 0
    round_trip: float | None = None
    latency: float | None = None
    files: dict[str, Placed] = field(default_factory=dict)
    price: int = 0
    pixels: int = 0  # output pixels: the units a key is charged
    specs: dict[str, RenditionSpec] = field(default_factory=dict)  # live AI: the output's, from the answer
    ai_info: dict[str, Any] = field(default_factory=dict)  # live AI: fps in and out, frames dropped, seconds
    params: dict[str, Any] | None = None  # live AI: the settings it was made with
    control: int = 0  # live AI: the newest settings change those include


class LiveSession:
    def __init__(self, record: StreamRecord, parts: LiveParts) -> None:
        self.id = record.id
        self.record = record
        self.parts = parts
        self.profiles = record.profiles
        self.window = LiveWindow(parts.window, parts.segment_duration)
        self.pieces: dict[int, Piece] = {}
        self.next_seq = 0
        self.next_to_list = 0
        self.current: str | None = None  # the orchestrator the stream is on
        self.unfit: set[str] = set()  # failed or fell behind on its last segment of this stream
        self.busy: set[str] = set()  # working on a segment of this stream now
        self._line_key: str | None = None  # its API key's, once looked up
        self.recent: deque[Piece] = deque(maxlen=RECENT)
        self.listed = self.skipped = self.received = 0
        self.by_orchestrator: dict[str, int] = {}
        self.swaps = record.swaps
        self.fees = record.fees
        self.discontinuities = 0
        self._skip_pending = False  # a skip happened: the next listed segment is discontinuous
        self._tasks: set[asyncio.Task[None]] = set()
        self._listed_event = asyncio.Event()
        self.dir = parts.outputs_dir / "live" / self.id
        self.work = parts.work_dir / f"live-{self.id}"
        self.events = EventHub()
        self.on_fatal: Callable[[str], None] = lambda reason: None  # set by LiveStreams: end the stream failed
        self.ai = LiveAIWork(self.id, record.ai["model_id"]) if record.ai else None
        self.params: dict[str, Any] = dict(record.ai.get("params") or {}) if record.ai else {}
        self.control_n = 0  # the newest settings change asked for
        self.applied_n = 0  # the newest one a listed segment was made with
        self.controls: list[ControlRecord] = []
        self.refused: str | None = None  # the stream's own settings were refused: it ends, failed

    # restoring after a gateway restart

    def restore(self, segments: list[SegmentRecord]) -> None:
        """Carry on after a restart: the window, the renditions and the counters from the
        finished segments (blocking: reads the last segment's files). A segment that was
        in work when the gateway went down was lost with it: it counts as skipped. A live
        AI stream carries on with its newest settings (a change still pending included)."""
        if self.ai is not None:
            self.controls = self.parts.store.controls(self.id)
            self.applied_n = max((c.n for c in self.controls if c.state == "applied"), default=0)
            self.control_n = max((c.n for c in self.controls), default=0)
            pending = [c for c in self.controls if c.state == PENDING and c.n > self.applied_n]
            if pending:
                self.params = dict(pending[-1].params)
        for seg in segments:
            self.next_seq = self.next_to_list = seg.seq + 1
            self.received += 1
            if seg.state == IN_WORK:
                self.parts.store.add_segment(replace(seg, state=SKIPPED))
            if seg.state != LISTED:
                self.skipped += 1
                self._skip_pending = True
                continue
            self.listed += 1
            self.discontinuities += seg.discontinuity
            if seg.orchestrator:
                self.by_orchestrator[seg.orchestrator] = self.by_orchestrator.get(seg.orchestrator, 0) + 1
        if self.listed:
            self._skip_pending = True  # whatever comes next, the encoder restarted
        self.fill_window(segments)

    def fill_window(self, segments: list[SegmentRecord], fetch: Callable[[Path], object] | None = None) -> None:
        """The playlists' window from the stream's recorded segments: its newest listed
        ones, and its renditions (blocking: reads the last segment's files, first
        brought from the object store by `fetch` when another machine made them). What
        restores a session, and what a gateway that does not take the stream's media
        serves its playlists from."""
        listed = [seg for seg in segments if seg.state == LISTED]
        for seg in listed:
            self.window.add(Entry(seg.seq, seg.duration, seg.discontinuity, seg.first_frame_at, seg.files))
        if listed:
            # a live AI stream has no profiles: its one rendition is the model's
            specs = {spec.name: spec for spec in parse_profiles(list(self.profiles))} if self.profiles else {}
            for name, placed in listed[-1].files.items():
                if name in self.window.renditions:  # known already (a viewer's cache): no file to read
                    continue
                path = self.dir / name / placed.name
                if fetch is not None:
                    fetch(path)
                width, height, fps, _ = self._rendition_facts(name, path)
                with open(path, "rb") as fh:
                    init = fh.read(placed.init_size)
                spec = specs.get(name)
                bandwidth = spec.video_bitrate + spec.audio_bitrate if spec else 0
                self.window.renditions[name] = Rendition(name, width, height, fps, bandwidth, init)

    # segments in

    def add_segment(self, source: Path, duration: float, facts: SourceFacts, *, discontinuity: bool = False) -> int:
        """A new segment from the encoder (on the event loop); returns its sequence number."""
        now, wall = time.monotonic(), time.time()
        seq = self.next_seq
        self.next_seq += 1
        self.received += 1
        piece = Piece(seq, source, duration, wall - duration, now, wall, facts, discontinuity)
        self.pieces[seq] = piece
        task = asyncio.create_task(self._deliver(piece), name=f"live-{self.id}-{seq}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return seq

    def mark_discontinuity(self) -> None:
        """The encoder reconnected: its timeline starts again."""
        self._skip_pending = True

    @property
    def in_flight(self) -> int:
        return sum(1 for p in self.pieces.values() if p.state == "running")

    async def drain(self, timeout: float) -> None:
        """Wait for the segments in work to be listed or skipped."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # through the network

    def plan(self, facts: SourceFacts) -> tuple[RenditionSpec, ...]:
        return plan_renditions(facts.width, facts.height, parse_profiles(list(self.profiles)))

    async def _deliver(self, piece: Piece) -> None:
        parts = self.parts
        plan = self.plan(piece.facts) if self.ai is None else ()
        deadline = piece.received + max(parts.min_deadline, parts.deadline_factor * piece.duration)
        failed_here: set[str] = set()

        async def free_orchestrator() -> str | None:
            url = self._choose(failed_here)
            if url is None:
                later = parts.ai.next_change() if self.ai is not None else parts.pool.next_change(time.monotonic())
                parts.line.wake_after(later or WAIT_FOR_SLOT)
            return url

        try:
            # On disk before it goes out: a gateway that dies now leaves a trace of it.
            await asyncio.to_thread(parts.store.add_segment, self._record(piece, IN_WORK))
            if self._line_key is None:
                self._line_key = await asyncio.to_thread(parts.owner, self.id) or ""
            while time.monotonic() < deadline and piece.state == "running" and self.refused is None:
                try:
                    url = await parts.line.serve(self._line_key, deadline, free_orchestrator, bounded=False, urgent=True)
                except WaitedTooLong:
                    break
                piece.attempts += 1
                if self.ai is not None:
                    done = await self._attempt_ai(piece, url, deadline)
                else:
                    done = await self._attempt(piece, url, plan, deadline)
                if done:
                    piece.state = "done"
                elif done is False:
                    failed_here.add(url)
            if piece.state == "running":
                piece.state = SKIPPED
                log.warning("stream %s: segment %d skipped, no orchestrator delivered it within %.1f s",
                            self.id, piece.seq, deadline - piece.received)
                self.events.emit("error", {"seq": piece.seq, "error": "no orchestrator delivered the segment in time"})
        finally:
            await asyncio.to_thread(piece.source.unlink, missing_ok=True)
            await self._publish()

    def _choose(self, exclude: set[str]) -> str | None:
        now = time.monotonic()
        current = self.current
        keep = current if current is not None and current not in self.unfit and current not in self.busy else None
        if self.ai is not None:
            url = self.ai.choose(self.parts.ai, self.parts.pool, exclude | self.busy, keep)
        else:
            url = self.parts.pool.acquire(now, prefer=keep, exclude=exclude | self.busy)
        if url is None:
            return None
        if current is None:
            self.current = url
        elif url != current and (current in self.unfit or current not in self.parts.pool.members):
            self.swaps += 1
            self.parts.metrics.swaps.inc()
            self.current = url
            log.info("stream %s moves from %s to %s", self.id, current, url)
            self.events.emit("swap", {"from": current, "to": url, "swaps": self.swaps})
        return url

    async def _attempt_ai(self, piece: Piece, url: str, deadline: float) -> bool | None:
        """One try of a live AI segment on `url`: True when it is in hand, False when `url`
        failed it, None when its settings were refused (they are undone: try again)."""
        parts = self.parts
        assert self.ai is not None
        self.busy.add(url)
        incoming = self.work / "incoming" / f"{piece.seq:06d}-{os.urandom(4).hex()}"
        await self.pick_up_controls()
        params, control = dict(self.params), self.control_n
        member = parts.pool.members.get(url)
        try:
            answer = await self.ai.run(
                parts, url, seq=piece.seq, source=piece.source, duration=piece.duration, params=params,
                incoming=incoming, timeout=max(1.0, deadline - time.monotonic()), address=member.address if member else None,
            )
            piece.files = await self._placed(piece, {OUTPUT: answer.file})
            if url in parts.pool.members:
                parts.pool.succeeded(url, answer.seconds, time.monotonic(), work=self.ai.work)
            parts.metrics.segment_try(LIVE_AI, url, "ok", answer.seconds, piece.duration)
            piece.orchestrator, piece.round_trip, piece.price = url, answer.seconds, answer.price
            piece.specs, piece.ai_info, piece.params, piece.control = {OUTPUT: answer.spec}, answer.info, params, control
            piece.pixels = live_units(round(piece.duration, 3))  # what the key is charged: the units paid
            if answer.seconds > piece.duration:
                self.unfit.add(url)
            else:
                self.unfit.discard(url)
            return True
        except PeerRefused as exc:
            parts.metrics.segment_try(LIVE_AI, url, "refused")
            await self._settings_refused(control, exc.detail)
            return None
        except PeerBusy as exc:
            parts.metrics.segment_try(LIVE_AI, url, "busy")
            parts.ai.said_full((url, "live-video-to-video", self.ai.model_id), exc.retry_after)
            return False
        except PeerFailed as exc:
            parts.metrics.segment_try(LIVE_AI, url, exc.kind)
            parts.ai.failed(url, exc, self.ai.work)
            self.unfit.add(url)
            log.warning("stream %s segment %d: %s; retrying elsewhere", self.id, piece.seq, exc)
            self.events.emit("error", {"seq": piece.seq, "orchestrator": url, "error": str(exc)})
            return False
        finally:
            self.busy.discard(url)
            parts.line.wake()
            await asyncio.to_thread(shutil.rmtree, incoming, ignore_errors=True)

    # live AI settings

    async def control(self, params: dict[str, Any], replace: bool) -> ControlRecord:
        """New settings for the segments sent from now on (the ones in work keep theirs)."""
        merged = dict(params) if replace else {**self.params, **params}
        record = await asyncio.to_thread(self.parts.store.add_control, self.id, merged)
        self.params, self.control_n = merged, record.n
        self.controls.append(record)
        self.events.emit("control", {"n": record.n, "state": PENDING, "params": merged})
        return record

    async def pick_up_controls(self) -> None:
        """Settings changes asked for through another gateway (it recorded them pending):
        this one, taking the stream's media, sends the segments from now on with them."""
        newer = [c for c in await asyncio.to_thread(self.parts.store.controls, self.id) if c.n > self.control_n]
        for record in newer:
            if record.state == PENDING:
                self.params, self.control_n = dict(record.params), record.n
                self.controls.append(record)
                self.events.emit("control", {"n": record.n, "state": PENDING, "params": dict(record.params)})

    async def _settings_refused(self, control: int, why: str) -> None:
        """The model refused the settings a segment was sent with. A change not yet applied
        is rejected and the settings go back to the last that worked; the stream's first
        settings refused leave nothing to go back to: the stream fails."""
        if control > self.applied_n:
            good = self._good_params()
            for n, record in enumerate(self.controls):
                if self.applied_n < record.n <= control and record.state == PENDING:
                    await asyncio.to_thread(self.parts.store.control_rejected, self.id, record.n, why)
                    self.controls[n] = replace(record, state="rejected", error=why)
                    self.events.emit("control", {"n": record.n, "state": "rejected", "error": why})
            if self.control_n <= control:  # no newer change since: back to the last good settings
                self.params = good
            log.warning("stream %s: settings change %d refused: %s", self.id, control, why)
        elif self.refused is None:  # once: its other segments stop trying
            self.refused = f"the model refused the stream's settings: {why}"
            self.events.emit("error", {"error": self.refused})
            self.on_fatal(self.refused)

    def _good_params(self) -> dict[str, Any]:
        for record in reversed(self.controls):
            if record.n <= self.applied_n and record.state != "rejected":
                return dict(record.params)
        return dict(self.record.ai.get("params") or {}) if self.record.ai else {}

    async def _attempt(self, piece: Piece, url: str, plan: tuple[RenditionSpec, ...], deadline: float) -> bool:
        parts = self.parts
        self.busy.add(url)
        incoming = self.work / "incoming" / f"{piece.seq:06d}-{os.urandom(4).hex()}"
        holding = True
        member = parts.pool.members.get(url)
        price = 0
        try:
            if parts.payer is not None and member is not None:
                price = transcode_price(member.price_per_pixel, plan, piece.duration)
            remaining = max(1.0, deadline - time.monotonic())
            result, files, seconds = await pay_and_call(
                parts.payer, url, price,
                lambda payment: parts.client.transcode(
                    url, piece.source, tuple(s.name for s in plan), job_id=self.id, index=piece.seq, dest_dir=incoming,
                    duration=piece.duration if parts.payer is not None else None, payment=payment, timeout=remaining,
                ),
            )
            parts.pool.release(url)
            holding = False
            self.busy.discard(url)
            parts.line.wake()
            await parts.checks.check(
                url, piece.source, self.id, member.address if member else None, plan, result.renditions, files
            )
            by_name = {r.name: files[r.file] for r in result.renditions}
            piece.files = await self._placed(piece, by_name)
            parts.pool.succeeded(url, seconds, time.monotonic(), duration=piece.duration)
            parts.metrics.segment_try(LIVE, url, "ok", seconds, piece.duration)
            piece.orchestrator, piece.round_trip, piece.price = url, seconds, price
            piece.pixels = output_pixels(plan, piece.duration)
            if seconds > piece.duration:
                self.unfit.add(url)  # fell behind real time: the next segment goes elsewhere
            else:
                self.unfit.discard(url)
            return True
        except PeerBusy as exc:
            parts.metrics.segment_try(LIVE, url, "busy")
            parts.pool.busy(url, time.monotonic(), exc.retry_after)
            return False
        except PeerFailed as exc:
            parts.metrics.segment_try(LIVE, url, exc.kind)
            parts.pool.failure(url, time.monotonic(), bad_result=exc.kind == "bad_result")
            self.unfit.add(url)
            log.warning("stream %s segment %d: %s; retrying elsewhere", self.id, piece.seq, exc)
            return False
        finally:
            if holding:
                parts.pool.release(url)
            self.busy.discard(url)
            parts.line.wake()
            await asyncio.to_thread(shutil.rmtree, incoming, ignore_errors=True)

    async def _placed(self, piece: Piece, files: dict[str, Path]) -> dict[str, Placed]:
        """Place a checked segment's renditions in their folders; then, with an object
        store, record them to upload (served from disk until they are stored)."""
        placed = await asyncio.to_thread(self._place, piece, files)
        if self.parts.uploader is not None:
            await self.parts.uploader.add(self.dir / rendition / p.name for rendition, p in placed.items())
        return placed

    def _place(self, piece: Piece, files: dict[str, Path]) -> dict[str, Placed]:
        name = f"seg_{piece.seq:06d}.mp4"
        return {
            rendition: place_segment(path, self.dir / rendition, name, piece.duration, piece.discontinuity)
            for rendition, path in files.items()
        }

    # into the playlists, in order

    async def _publish(self) -> None:
        while self.next_to_list in self.pieces and self.pieces[self.next_to_list].state != "running":
            piece = self.pieces.pop(self.next_to_list)
            self.next_to_list += 1
            self.parts.metrics.segment_end(LIVE if self.ai is None else LIVE_AI,
                                           "skipped" if piece.state == SKIPPED else "listed")
            if piece.state == SKIPPED:
                self.skipped += 1
                self._skip_pending = True
                await asyncio.to_thread(self.parts.store.add_segment, self._record(piece, SKIPPED))
                self.recent.append(piece)
                self.events.emit("status", self.status_event(piece))
                continue
            discontinuity = piece.discontinuity or self._skip_pending
            if discontinuity:
                self.discontinuities += 1
                piece.files = {k: Placed(p.name, p.duration, p.init_size, p.media_size, True) for k, p in piece.files.items()}
            piece.discontinuity = discontinuity
            self._skip_pending = False
            self._learn_renditions(piece)
            self.window.add(Entry(piece.seq, piece.duration, discontinuity, piece.first_frame_at, piece.files))
            piece.latency = time.time() - piece.received_wall
            piece.state = LISTED
            self.listed += 1
            if piece.orchestrator is not None:
                self.by_orchestrator[piece.orchestrator] = self.by_orchestrator.get(piece.orchestrator, 0) + 1
            self.fees += piece.price
            self.recent.append(piece)
            self._listed_event.set()
            await asyncio.to_thread(self._save, piece)
            if piece.control > self.applied_n:
                await self._applied(piece)
            self.events.emit("status", self.status_event(piece))

    def _save(self, piece: Piece) -> None:
        store = self.parts.store
        store.add_segment(self._record(piece, LISTED))
        store.count(self.id, fees=piece.price, swaps=self.swaps - self.record.swaps)
        self.parts.charge(self.id, piece.pixels, piece.price)
        self.record = StreamRecord(**{**self.record.__dict__, "swaps": self.swaps})

    def _record(self, piece: Piece, state: str) -> SegmentRecord:
        return SegmentRecord(
            self.id, piece.seq, piece.duration, piece.discontinuity, piece.first_frame_at, state, piece.orchestrator,
            piece.attempts, piece.round_trip, piece.latency, piece.files if state == LISTED else {},
        )

    async def _applied(self, piece: Piece) -> None:
        """The first listed segment made with settings change `piece.control`: it and the
        changes before it are in effect from this segment on."""
        now = time.time()
        ai = {**(self.record.ai or {}), "params": piece.params}
        for n, record in enumerate(self.controls):
            if self.applied_n < record.n <= piece.control and record.state == PENDING:
                await asyncio.to_thread(self.parts.store.control_applied, self.id, record.n, piece.seq, now, ai)
                self.controls[n] = replace(record, state="applied", effective_seq=piece.seq, effective_at=now)
                self.events.emit("control", {"n": record.n, "state": "applied", "seq": piece.seq,
                                             "seconds_to_effect": round(now - record.requested_at, 3)})
        self.applied_n = piece.control
        self.record = replace(self.record, ai=ai)

    def status_event(self, piece: Piece | None = None) -> dict[str, Any]:
        """What the events stream says after each segment: where the stream is, and how the model keeps up."""
        event: dict[str, Any] = {
            "received": self.received, "listed": self.listed, "skipped": self.skipped, "in_flight": self.in_flight,
            "orchestrator": self.current, "swaps": self.swaps, "fees_wei": self.fees,
        }
        if piece is not None:
            event.update({"seq": piece.seq, "state": piece.state, "latency": _round(piece.latency),
                          "round_trip": _round(piece.round_trip)})
            for name in ("fps_in", "fps_out", "dropped", "seconds"):
                if name in piece.ai_info:
                    event[name] = piece.ai_info[name]
        return event

    def _learn_renditions(self, piece: Piece) -> None:
        """The master playlist's entries, from the first segment of each rendition."""
        plan = piece.specs or {s.name: s for s in self.plan(piece.facts)}
        for name, placed in piece.files.items():
            if name in self.window.renditions or name not in plan:
                continue
            spec = plan[name]
            with open(self.dir / name / placed.name, "rb") as fh:
                init = fh.read(placed.init_size)
            fps = float(spec.fps) if piece.specs else piece.facts.fps
            self.window.renditions[name] = Rendition(
                name, spec.width, spec.height, fps, spec.video_bitrate + spec.audio_bitrate, init
            )

    async def wait_listed(self, timeout: float) -> bool:
        """Until a segment is listed (or `timeout`)."""
        self._listed_event.clear()
        try:
            await asyncio.wait_for(self._listed_event.wait(), timeout)
            return True
        except TimeoutError:
            return False

    # the end

    def write_recording(self) -> Path | None:
        """The whole stream as a video-on-demand ladder (blocking: call off the loop)."""
        segments = [s for s in self.parts.store.segments(self.id) if s.state == LISTED]
        if not segments:
            return None
        ladder: dict[str, list[LadderSegment]] = {}
        names = {name for s in segments for name in s.files}
        order = {spec.name: -spec.height for spec in parse_profiles(list(self.profiles))} if self.profiles else {}
        for name in sorted(names, key=lambda n: (order.get(n, 0), n)):  # the highest first, as the profiles
            mine = [s for s in segments if name in s.files]
            width, height, fps, bandwidth = self._rendition_facts(name, self.dir / name / mine[0].files[name].name)
            ladder[name] = [
                LadderSegment(
                    path=self.dir / name / s.files[name].name, duration=s.duration, width=width, height=height,
                    bandwidth=bandwidth, fps=fps, discontinuity=s.discontinuity,
                )
                for s in mine
            ]
        return write_ladder(self.dir / "recording", ladder)

    def _rendition_facts(self, name: str, first: Path) -> tuple[int, int, float, int]:
        known = self.window.renditions.get(name)
        if known is not None:
            return known.width, known.height, known.fps, known.bandwidth
        info = probe(first)  # after a restart: read them off its first file
        video = info.video
        return (video.width, video.height, video.fps or 30.0, 0) if video else (0, 0, 30.0, 0)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
