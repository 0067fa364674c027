"""The gateway's live streams: created over the API, fed over RTMP or HTTP push,
ended by their client or by silence.

- An encoder publishes with the stream's key; an unknown key, a stream that has
  ended, or a second encoder on a key already live is refused at the publish.
- Its media is cut into segments (`ingest`) that the stream's `LiveSession` sends
  through the network; an encoder that went away may reconnect until the idle timeout
  and the stream carries on, with one discontinuity in its playlists.
- Input the network cannot use (no video, a codec that does not decode, an absurd
  size, keyframes too far apart) fails the stream with the reason in its status;
  the gateway and the other streams go on.
- A stream ends by `DELETE /streams/{id}` or after `idle_timeout` seconds without
  media; the segments in work are finished first, the playlists get ENDLIST, and with
  `record` the whole stream is written as a video-on-demand ladder.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from framemesh.gateway.core.leases import Lease, LeasedRows
from framemesh.gateway.errors import JobNotFound
from framemesh.gateway.live.ingest import Ingest, SourceFacts
from framemesh.gateway.live.rtmp import Feed, Refused, RTMPServer
from framemesh.gateway.live.playlist import LiveWindow, Rendition
from framemesh.gateway.live.session import LiveParts, LiveSession
from framemesh.gateway.live.store import ControlRecord, StreamRecord
from framemesh.media.errors import MediaError
from framemesh.media.live_segment import LiveSegment
from framemesh.media.probe import probe
from framemesh.wire.states import StreamState

log = logging.getLogger("framemesh.gateway.live")

SWEEP_INTERVAL = 1.0
# How long an ended stream's session (its final playlists, its figures in memory)
# stays after the end; then its status comes from the store.
KEEP_ENDED = 300.0


class StreamEnded(Exception):
    """The stream has ended (or failed): it takes no more media."""


class NotAIStream(Exception):
    """A live AI request on a stream that has no live AI model."""


class LiveStreams:
    def __init__(
        self, parts: LiveParts, *, idle_timeout: float = 30.0, rtmp_host: str = "127.0.0.1", rtmp_port: int | None = None,
        max_segment: float = 10.0, lease: Lease | None = None,
    ) -> None:
        self.parts = parts
        # With several gateways: the one taking a stream's media holds it (`core.leases`);
        # any other serves its playlists from the records.
        self.lease = lease if lease is not None else Lease("local", 10.0)
        self.holding: set[str] = set()
        self._viewed: dict[str, dict[str, Rendition]] = {}  # streams viewed from their records: their renditions
        self.store = parts.store
        self.idle_timeout = idle_timeout
        self.max_segment = max_segment
        self.sessions: dict[str, LiveSession] = {}
        self.ingests: dict[str, Ingest] = {}
        self.last_media: dict[str, float] = {}  # monotonic time of each stream's latest media
        self.push_seq: dict[str, int] = {}  # the latest HTTP-pushed sequence number per stream
        self.rtmp = RTMPServer(self.admit, host=rtmp_host, port=rtmp_port, idle_timeout=min(10.0, idle_timeout)) \
            if rtmp_port is not None else None
        self._sweeper: asyncio.Task[None] | None = None
        self._ending: dict[str, asyncio.Task[StreamRecord]] = {}
        self._ended_at: dict[str, float] = {}  # monotonic, for dropping sessions of ended streams
        self._loop: asyncio.AbstractEventLoop | None = None

    # the node's life

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._adopt(await asyncio.to_thread(self.claim, own=True))
        if self.rtmp is not None:
            await self.rtmp.start()
        self._sweeper = asyncio.create_task(self._sweep(), name="live-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.rtmp is not None:
            await self.rtmp.stop()
        for ingest in list(self.ingests.values()):
            ingest.close()
        for session in self.sessions.values():
            await session.stop()

    # leases: the streams whose media this gateway takes

    @property
    def leases(self) -> LeasedRows:
        return self.store.leases

    @property
    def held(self) -> set[str]:
        return set(self.holding)

    def claim(self, *, own: bool = False) -> list[str]:
        """Claim the streams whose gateway stopped (its encoder's connection died with
        it); blocking. Taken over, each waits for its encoder to reconnect, and ends
        after the idle timeout if it does not."""
        return [i for i in self.store.leases.claim(self.lease, own=own) if i not in self.holding]

    def take(self, stream_ids: list[str]) -> None:
        asyncio.get_running_loop().create_task(self._adopt(stream_ids))

    async def _adopt(self, stream_ids: list[str]) -> None:
        for stream_id in stream_ids:
            record = await asyncio.to_thread(self.store.get, stream_id)
            self.holding.add(stream_id)
            if stream_id in self.sessions and stream_id in self.last_media:
                continue
            self.sessions.pop(stream_id, None)  # a viewer's empty session: this one carries the stream on
            session = self._session(record)
            await asyncio.to_thread(session.restore, await asyncio.to_thread(self.store.segments, record.id))
            if record.state is StreamState.LIVE:  # its encoder's connection died with the old process
                await asyncio.to_thread(self.store.set_state, record.id, StreamState.IDLE)
            self.last_media[record.id] = time.monotonic()

    def drop(self, stream_ids: set[str]) -> None:
        """Streams this gateway no longer holds: ended (here or by another gateway), or
        taken over by another after this one stalled past its lease."""
        for stream_id in stream_ids:
            self.holding.discard(stream_id)
            if stream_id not in self._ending:
                asyncio.get_running_loop().create_task(self._let_go(stream_id))

    async def _let_go(self, stream_id: str) -> None:
        record = await asyncio.to_thread(self.store.get, stream_id)
        if stream_id in self._ending:
            return
        if record.state.terminal:
            await self._ended_elsewhere(stream_id, record)
            return
        # taken over by another gateway (this one stalled past its lease): its media goes there now
        ingest = self.ingests.pop(stream_id, None)
        if ingest is not None:
            log.warning("stream %s: another gateway holds it now; closing its encoder's connection here", stream_id)
            ingest.close()
        self.last_media.pop(stream_id, None)
        session = self.sessions.pop(stream_id, None)
        if session is not None:
            await session.stop()

    def _hold(self, record: StreamRecord) -> str | None:
        """Hold the stream whose media comes here; the other gateway's name if it holds it."""
        if record.id in self.holding:
            return None
        other = self.store.leases.take(self.lease, record.id)
        if other is None:
            self.holding.add(record.id)
        return other

    async def window(self, record: StreamRecord) -> LiveWindow | None:
        """The stream's playlists' window: its session's, where its media comes; else read
        from its records (another gateway takes its media); None before anything is listed.
        Its renditions are read off a segment file once per stream, not per playlist."""
        session = self.sessions.get(record.id)
        if session is not None and session.window.renditions:
            return session.window
        view = LiveSession(record, self.parts)
        view.window.renditions.update(self._viewed.get(record.id, {}))
        segments = await asyncio.to_thread(self.store.segments, record.id)
        uploader = self.parts.uploader
        await asyncio.to_thread(view.fill_window, segments, uploader.fetch if uploader is not None else None)
        if record.state.terminal:
            view.window.end()
        if not view.window.renditions:
            return None
        if record.state.terminal:
            self._viewed.pop(record.id, None)
        else:
            self._viewed[record.id] = dict(view.window.renditions)
        return view.window

    @property
    def rtmp_port(self) -> int | None:
        return self.rtmp.port if self.rtmp is not None else None

    # streams

    def create(self, name: str, profiles: tuple[str, ...], record: bool, ai: dict[str, Any] | None = None) -> StreamRecord:
        """A new stream, idle until its encoder connects (blocking: call off the loop).
        With `ai` ({"pipeline", "model_id", "params"}) its output is the processed video."""
        stream_id = uuid.uuid4().hex[:16]
        key = secrets.token_urlsafe(18)
        return self.store.add(stream_id, name, key, () if ai else profiles, record, ai)

    async def control(self, stream_id: str, params: dict[str, Any], replace: bool) -> ControlRecord:
        """New settings for a live AI stream. Raises JobNotFound, StreamEnded, NotAIStream."""
        record = await asyncio.to_thread(self.store.get, stream_id)
        if record.ai is None:
            raise NotAIStream(f"stream {stream_id} has no live AI model: it has no settings to change")
        if record.state.terminal or stream_id in self._ending:
            raise StreamEnded(f"stream {stream_id} has {record.state.value}")
        if stream_id not in self.holding and await asyncio.to_thread(self._held_elsewhere, stream_id):
            return await asyncio.to_thread(self._control_elsewhere, record, params, replace)
        return await self._session(record).control(params, replace)

    def _held_elsewhere(self, stream_id: str) -> bool:
        holder = self.store.leases.holder_of(stream_id)
        return holder is not None and holder != self.lease.holder

    def _control_elsewhere(self, record: StreamRecord, params: dict[str, Any], replace: bool) -> ControlRecord:
        """A change for a stream another gateway takes the media of: recorded pending, on
        the settings it has now (its newest change not refused); that gateway sends its
        next segment with it (`LiveSession.pick_up_controls`). Blocking."""
        changes = [c for c in self.store.controls(record.id) if c.state != "rejected"]
        now = dict(changes[-1].params) if changes else dict((record.ai or {}).get("params") or {})
        return self.store.add_control(record.id, dict(params) if replace else {**now, **params})

    def dirs(self, stream_id: str) -> list[Path]:
        """Everything a stream fills on disk (what retention deletes)."""
        return [self.parts.outputs_dir / "live" / stream_id, self.parts.work_dir / f"live-{stream_id}"]

    def session(self, stream_id: str) -> LiveSession | None:
        return self.sessions.get(stream_id)

    def active(self) -> list[LiveSession]:
        """The streams taking media now: media came, and they are not ending or ended."""
        return [s for sid, s in self.sessions.items() if sid in self.last_media and sid not in self._ending]

    def session_of(self, record: StreamRecord) -> LiveSession | None:
        """The session of a stream that has not ended, made now if its encoder has not
        connected yet (what listens to its events waits there); None once it ended."""
        if record.id in self.sessions:
            return self.sessions[record.id]
        return None if record.state.terminal else self._session(record)

    def _session(self, record: StreamRecord) -> LiveSession:
        session = self.sessions.get(record.id)
        if session is None:
            session = self.sessions[record.id] = LiveSession(record, self.parts)
            session.on_fatal = lambda reason: self._end_soon(record.id, StreamState.FAILED, reason)
        return session

    # media in: RTMP

    def admit(self, key: str) -> Feed:
        """The feed for a publish on `key` (on the event loop); raises Refused."""
        record = self.store.by_key(key)
        if record is None:
            raise Refused("unknown stream key")
        if record.state.terminal or record.id in self._ending:
            raise Refused("the stream has ended" if record.id in self._ending else f"the stream has {record.state.value}")
        if record.id in self.ingests:
            raise Refused("an encoder is already publishing on this key")
        other = self._hold(record)
        if other is not None:
            raise Refused(f"an encoder is publishing on this key through gateway {other}")
        ingest = self._ingest(record, "flv")
        ingest.start()
        return ingest

    def _ingest(self, record: StreamRecord, container_format: str) -> Ingest:
        session = self._session(record)
        if session.received:
            session.mark_discontinuity()
            asyncio.get_running_loop().create_task(asyncio.to_thread(self.store.count, record.id, reconnects=1))
        loop = asyncio.get_running_loop()
        ingest = Ingest(
            session.work / "source", name=f"c{int(time.time() * 1000) % 10**9}",
            on_segment=lambda seg, facts: loop.call_soon_threadsafe(self._segment, record.id, seg, facts),
            on_end=lambda error: loop.call_soon_threadsafe(self._ingest_ended, record.id, ingest, error),
            target_duration=self.parts.segment_duration, max_duration=self.max_segment, container_format=container_format,
        )
        self.ingests[record.id] = ingest
        self.last_media[record.id] = time.monotonic()
        loop.create_task(self._went_live(record.id))
        return ingest

    async def _went_live(self, stream_id: str) -> None:
        record = await asyncio.to_thread(self.store.get, stream_id)
        if record.state in (StreamState.IDLE, StreamState.LIVE):
            await asyncio.to_thread(self.store.set_state, stream_id, StreamState.LIVE)

    def _segment(self, stream_id: str, segment: LiveSegment, facts: SourceFacts) -> None:
        self.last_media[stream_id] = time.monotonic()
        session = self.sessions.get(stream_id)
        if session is None or stream_id in self._ending:
            segment.path.unlink(missing_ok=True)
            return
        session.add_segment(segment.path, segment.duration, facts)

    def _ingest_ended(self, stream_id: str, ingest: Ingest, error: str | None) -> None:
        if self.ingests.get(stream_id) is ingest:
            del self.ingests[stream_id]
        self.last_media[stream_id] = time.monotonic()
        if error is not None:
            log.warning("stream %s: its input cannot be used: %s", stream_id, error)
            self._end_soon(stream_id, StreamState.FAILED, error)
        elif stream_id not in self._ending:
            asyncio.get_running_loop().create_task(self._went_idle(stream_id))

    async def _went_idle(self, stream_id: str) -> None:
        record = await asyncio.to_thread(self.store.get, stream_id)
        if record.state is StreamState.LIVE and stream_id not in self.ingests:
            await asyncio.to_thread(self.store.set_state, stream_id, StreamState.IDLE)

    # media in: HTTP push

    async def push(self, key: str, seq: int, path: Path) -> tuple[StreamRecord, int]:
        """One MPEG-TS segment an encoder segmented itself; returns the stream and the
        segment's place in it. Raises JobNotFound (unknown key), StreamEnded, MediaError."""
        record = await asyncio.to_thread(self.store.by_key, key)
        if record is None:
            raise JobNotFound(key)
        if record.state.terminal or record.id in self._ending:
            raise StreamEnded(f"stream {record.id} has {record.state.value}")
        if record.id in self.ingests:
            raise StreamEnded("an RTMP encoder is publishing on this stream; push over one path at a time")
        other = await asyncio.to_thread(self._hold, record)
        if other is not None:
            raise StreamEnded(f"this stream's media goes to gateway {other}; push to it (or wait for its lease to run out)")
        info = await self.parts.in_pool(probe, path)
        if info.video is None:
            raise MediaError("the segment has no video")
        facts = SourceFacts(info.video.width, info.video.height, info.video.fps or 30.0, info.video.codec, None)
        session = self._session(record)
        last = self.push_seq.get(record.id)
        if last is not None and seq != last + 1:
            session.mark_discontinuity()  # the encoder's numbering jumped: so did its timeline
        self.push_seq[record.id] = seq
        self.last_media[record.id] = time.monotonic()
        if record.state is StreamState.IDLE:
            record = await asyncio.to_thread(self.store.set_state, record.id, StreamState.LIVE)
        return record, session.add_segment(path, info.duration, facts)

    # the end

    def _end_soon(self, stream_id: str, state: StreamState, error: str | None) -> None:
        if stream_id not in self._ending:
            self._ending[stream_id] = asyncio.get_running_loop().create_task(self._finish(stream_id, state, error))

    async def end(self, stream_id: str) -> StreamRecord:
        """End a stream (DELETE): finish its segments in work, close its playlists,
        write its recording. Raises JobNotFound."""
        record = await asyncio.to_thread(self.store.get, stream_id)
        if record.state.terminal and stream_id not in self._ending:
            return record
        self._end_soon(stream_id, StreamState.ENDED, None)
        return await asyncio.shield(self._ending[stream_id])

    async def _finish(self, stream_id: str, state: StreamState, error: str | None) -> StreamRecord:
        session = self.sessions.get(stream_id)
        recording = await self._close_out(stream_id)
        record = await asyncio.to_thread(self.store.set_state, stream_id, state, error=error, recording=recording)
        await asyncio.to_thread(self.store.controls_unused, stream_id)
        self._forget_media(stream_id, session, state, error)
        return record

    async def _close_out(self, stream_id: str) -> str | None:
        """Stop taking the stream's media: finish its segments in work, end its playlists,
        write its recording (if it keeps one); the recording's path under the outputs."""
        ingest = self.ingests.pop(stream_id, None)
        if ingest is not None:
            ingest.close()
            await asyncio.to_thread(ingest.join, 10.0)
        session = self.sessions.get(stream_id)
        recording = None
        if session is not None:
            parts = self.parts
            await session.drain(max(parts.min_deadline, parts.deadline_factor * parts.segment_duration) + 5.0)
            session.window.end()
            if session.record.record:
                try:
                    master = await asyncio.to_thread(session.write_recording)
                except MediaError as exc:
                    log.error("stream %s: its recording could not be written: %s", stream_id, exc)
                    master = None
                if master is not None:
                    recording = master.relative_to(parts.outputs_dir).as_posix()
                    if parts.uploader is not None:  # the recording: its playlists and its (linked) segments
                        files = await asyncio.to_thread(lambda: sorted(p for p in master.parent.rglob("*") if p.is_file()))
                        await parts.uploader.add(files)
            await asyncio.to_thread(shutil.rmtree, session.work, ignore_errors=True)
        return recording

    def _forget_media(self, stream_id: str, session: LiveSession | None, state: StreamState, error: str | None) -> None:
        if session is not None:
            session.events.emit("end", {"state": state.value, **({"error": error} if error else {})})
        self._ended_at[stream_id] = time.monotonic()
        self.last_media.pop(stream_id, None)
        self.push_seq.pop(stream_id, None)
        log.info("stream %s %s%s", stream_id, state.value, f": {error}" if error else "")

    async def _ended_elsewhere(self, stream_id: str, record: StreamRecord) -> None:
        """Another gateway ended the stream this one takes the media of (a DELETE that
        reached it): close it out here, where its segments are, and add the recording."""
        session = self.sessions.get(stream_id)
        recording = await self._close_out(stream_id)
        if recording is not None:
            await asyncio.to_thread(self.store.set_recording, stream_id, recording)
        self._forget_media(stream_id, session, record.state, record.error)

    async def _sweep(self) -> None:
        """End the streams whose media stopped longer than the idle timeout ago."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = time.monotonic()
            for stream_id, ended in list(self._ended_at.items()):
                if now - ended > KEEP_ENDED:
                    del self._ended_at[stream_id]
                    self._ending.pop(stream_id, None)
                    self.sessions.pop(stream_id, None)
            for stream_id in list(self.sessions):
                if stream_id in self._ending or stream_id in self.ingests:
                    continue
                if now - self.last_media.get(stream_id, now) > self.idle_timeout:
                    record = await asyncio.to_thread(self.store.get, stream_id)
                    if not record.state.terminal:
                        log.info("stream %s: no media for %g s: ending it", stream_id, self.idle_timeout)
                        self._end_soon(stream_id, StreamState.ENDED, None)
