"""The gateway's live API.

    POST   /streams                      {name, profiles, record} → 201 the stream, with its key and URLs
    GET    /streams                      newest first, a page at a time
    GET    /streams/{id}                 state, segments, orchestrators, swaps, round trips, latency
    DELETE /streams/{id}                 end it (its recording is written, with `record`)
    PUT    /live/{stream_key}/{seq}.ts   HTTP push of one MPEG-TS segment (the key is the secret)
    GET    /streams/{id}/index.m3u8      the live master playlist (404 until the first segment is listed)
    GET    /streams/{id}/{rendition}/index.m3u8, …/{file}   media playlists and segments
    GET    /streams/{id}/recording/…     the recording, once the stream has ended
    GET    /streams/{id}/player          a page that plays it (hls.js)
    POST   /streams/{id}/control         live AI: new settings, in effect from the next segment sent
    GET    /streams/{id}/events          server-sent events: each segment's figures, swaps, settings, errors, the end
    POST   /live-video-to-video          Livepeer's live AI request, mapped onto a stream

The stream's management routes take the gateway's API token; playback and push are
open, as /outputs/ is: players send no headers, and the stream's id and key are
random secrets only its creator was told.
"""

from __future__ import annotations

import asyncio
import html
import os
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse

from framemesh.gateway.auth import GUARDED, Access, caller_of
from framemesh.gateway.config import MAX_OFFSET, MAX_PAGE, PAGE
from framemesh.gateway.core.files import file_under, path_under
from framemesh.gateway.errors import JobNotFound
from framemesh.gateway.live.events import sse
from framemesh.gateway.live.figures import RECENT_SHOWN, Figures, ai_out, from_records, from_session
from framemesh.gateway.live.store import StreamRecord
from framemesh.gateway.live.streams import LiveStreams, NotAIStream, StreamEnded
from framemesh.media.errors import MediaError, UnknownProfileError
from framemesh.media.hls import MASTER, MEDIA
from framemesh.media.profiles import parse_profiles
from framemesh.net.api_errors import ApiError, documented
from framemesh.net.body import json_body, json_body_doc, limited
from framemesh.wire.live import (
    LIVE_AI_PIPELINE,
    ControlIn,
    ControlOut,
    LatencyOut,
    LiveAI,
    LiveAIOut,
    LiveVideoToVideoParams,
    LiveVideoToVideoResponse,
    SegmentCountsOut,
    StreamCreate,
    StreamOut,
)

PLAYLIST = "application/vnd.apple.mpegurl"
NO_CACHE = {"Cache-Control": "no-cache, no-store"}
MAX_PUSH_BYTES = 64 << 20
KEEPALIVE = 10.0  # seconds between comments on a quiet events stream (proxies drop idle connections)
_STATIC = resources.files("framemesh.gateway.live") / "static"


def stream_out(
    record: StreamRecord, figures: Figures, request: Request, rtmp_port: int | None, ai: LiveAIOut | None = None
) -> StreamOut:
    base = str(request.base_url).rstrip("/")
    stream = f"{base}/streams/{record.id}"
    median, p95, trip = figures.latency
    return StreamOut(
        id=record.id, name=record.name, state=record.state.value, error=record.error, profiles=list(record.profiles),
        record=record.record, stream_key=record.stream_key,
        rtmp_url=f"rtmp://{request.url.hostname}:{rtmp_port}/live/{record.stream_key}" if rtmp_port else None,
        push_url=f"{base}/live/{record.stream_key}", playback_url=f"{stream}/{MEDIA}", player_url=f"{stream}/player",
        recording_url=f"{stream}/recording/{MASTER}" if record.recording else None,
        created=record.created, live_since=record.live_since, ended_at=record.ended_at,
        segments=SegmentCountsOut(received=figures.received, listed=figures.listed, skipped=figures.skipped,
                                  in_flight=figures.in_flight),
        orchestrator=figures.current, orchestrators=figures.by_orchestrator, swaps=figures.swaps,
        discontinuities=figures.discontinuities, reconnects=record.reconnects, fees_wei=figures.fees,
        latency=LatencyOut(median=_round(median), p95=_round(p95), round_trip_median=_round(trip)),
        recent=figures.recent, ai=ai,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def install_live_routes(
    app: FastAPI, live: LiveStreams, access: Access, auth: list[Any], default_profiles: tuple[str, ...]
) -> None:
    store = live.store

    async def out(record: StreamRecord, request: Request) -> StreamOut:
        session = live.session(record.id)
        if session is not None:
            figures = from_session(session)
        else:
            counts, last = await asyncio.gather(
                asyncio.to_thread(store.summary, record.id), asyncio.to_thread(store.segments, record.id, last=RECENT_SHOWN)
            )
            figures = from_records(record, counts, last)
        ai = None
        if record.ai is not None:
            controls = session.controls if session is not None else await asyncio.to_thread(store.controls, record.id)
            ai = ai_out(record, session, controls)
        return stream_out(record, figures, request, live.rtmp_port, ai)

    def check_model(ai: LiveAI) -> LiveAI:
        """The live model must be one the network serves (404-like, as a 422 on the body)."""
        directory = live.parts.ai.directory if live.parts.ai is not None else None
        offers = directory.offers() if directory is not None else []
        model_id = ai.model_id or (directory.default_model(LIVE_AI_PIPELINE) if directory is not None else None) or ""
        if {"pipeline": LIVE_AI_PIPELINE, "model_id": model_id} not in offers:
            served = ", ".join(o["model_id"] for o in offers if o["pipeline"] == LIVE_AI_PIPELINE) or "none"
            raise ApiError(422, "unknown_model",
                           f"no orchestrator serves {LIVE_AI_PIPELINE} model {model_id!r}; live models offered: {served}")
        return LiveAI(model_id=model_id, params=ai.params)

    async def record_of(stream_id: str, request: Request | None = None) -> StreamRecord:
        """The stream; given the caller's `request`, only one it may see (playback is open)."""
        try:
            if request is not None and not await access.sees(caller_of(request), stream_id):
                raise JobNotFound(stream_id)
            return await asyncio.to_thread(store.get, stream_id)
        except JobNotFound as exc:
            raise ApiError(404, "stream_not_found", f"no stream with id {stream_id!r}") from exc

    @app.post("/streams", status_code=201, response_model=StreamOut, dependencies=auth, tags=["live"],
              responses={**GUARDED, **documented(413, 422)}, openapi_extra=json_body_doc(StreamCreate))
    async def create_stream(request: Request) -> StreamOut:
        """A new live stream: push to its `rtmp_url` (or `push_url`), watch its `playback_url`."""
        body = await json_body(request, StreamCreate)
        try:
            profiles = parse_profiles(body.profiles if body.profiles else list(default_profiles))
        except UnknownProfileError as exc:
            raise ApiError(422, "unknown_profile", str(exc)) from exc
        ai = check_model(body.ai).model_dump() if body.ai is not None else None
        record = await asyncio.to_thread(live.create, body.name, tuple(p.name for p in profiles), body.record, ai)
        await access.claim(caller_of(request), "live", record.id)
        return await out(record, request)

    @app.post("/streams/{stream_id}/control", response_model=ControlOut, dependencies=auth, tags=["live"],
              responses={**GUARDED, **documented(404, 409, 413, 422)}, openapi_extra=json_body_doc(ControlIn))
    async def control_stream(stream_id: str, request: Request) -> ControlOut:
        """New settings for a live AI stream (a prompt, a strength, ...): the next segment
        sent is made with them; the answer's `n` finds the change in the stream's status."""
        await record_of(stream_id, request)
        body = await json_body(request, ControlIn)
        try:
            change = await live.control(stream_id, body.params, body.replace)
        except NotAIStream as exc:
            raise ApiError(409, "not_ai_stream", str(exc)) from exc
        except StreamEnded as exc:
            raise ApiError(409, "stream_ended", str(exc)) from exc
        return ControlOut(n=change.n, params=change.params, state=change.state, requested_at=change.requested_at)

    @app.get("/streams/{stream_id}/events", dependencies=auth, tags=["live"], response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "`status` after each segment (fps in and out, dropped, latency, "
                              "orchestrator), `control`, `swap`, `error`, then `end`."},
                        **GUARDED, **documented(404, 422)})
    async def stream_events(stream_id: str, request: Request) -> StreamingResponse:
        """The stream's status as server-sent events, from now until it ends."""
        record = await record_of(stream_id, request)
        session = live.session_of(record)

        async def events() -> Any:
            if session is None:  # ended a while ago: its session is gone
                yield sse("status", {"state": record.state.value})
                yield sse("end", {"state": record.state.value, **({"error": record.error} if record.error else {})})
                return
            queue = session.events.listen()
            try:
                yield sse("status", {"state": record.state.value, **session.status_event()})
                if record.state.terminal:
                    yield sse("end", {"state": record.state.value})
                    return
                while True:
                    try:
                        kind, data = await asyncio.wait_for(queue.get(), KEEPALIVE)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield sse(kind, data)
                    if kind == "end":
                        return
            finally:
                session.events.leave(queue)

        return StreamingResponse(events(), media_type="text/event-stream", headers=NO_CACHE)

    @app.post("/live-video-to-video", response_model=LiveVideoToVideoResponse, dependencies=auth, tags=["live"],
              responses={**GUARDED, **documented(413, 422)}, openapi_extra=json_body_doc(LiveVideoToVideoParams))
    async def live_video_to_video(request: Request) -> LiveVideoToVideoResponse:
        """Livepeer's live AI request. The gateway never connects to a URL a client names:
        `subscribe_url` and `publish_url` are labels; the answer gives the gateway's own
        URLs to publish the source to (RTMP, or HTTP push) and to play the result from."""
        body = await json_body(request, LiveVideoToVideoParams)
        ai = check_model(LiveAI.model_construct(pipeline=LIVE_AI_PIPELINE, model_id=body.model_id, params=body.params))
        name = body.stream_id or body.gateway_request_id or "live-video-to-video"
        record = await asyncio.to_thread(live.create, name[:200], (), False, ai.model_dump())
        await access.claim(caller_of(request), "live", record.id)
        made = await out(record, request)
        return LiveVideoToVideoResponse(
            subscribe_url=made.rtmp_url or made.push_url, publish_url=made.playback_url,
            control_url=f"{str(request.base_url).rstrip('/')}/streams/{record.id}/control",
            events_url=f"{str(request.base_url).rstrip('/')}/streams/{record.id}/events",
            request_id=record.id, manifest_id=record.id,
        )

    @app.get("/streams", response_model=list[StreamOut], dependencies=auth, tags=["live"],
             responses={**GUARDED, **documented(422)})
    async def list_streams(
        request: Request, limit: int = Query(default=PAGE, ge=1, le=MAX_PAGE), offset: int = Query(default=0, ge=0, le=MAX_OFFSET)
    ) -> list[StreamOut]:
        records = await asyncio.to_thread(partial(store.page, limit, offset, owner=caller_of(request).owner))
        return [await out(r, request) for r in records]

    @app.get("/streams/{stream_id}", response_model=StreamOut, dependencies=auth, tags=["live"],
             responses={**GUARDED, **documented(404, 422)})
    async def get_stream(stream_id: str, request: Request) -> StreamOut:
        record = await record_of(stream_id, request)
        return await out(record, request)

    @app.delete("/streams/{stream_id}", response_model=StreamOut, dependencies=auth, tags=["live"],
                responses={**GUARDED, **documented(404, 422)})
    async def end_stream(stream_id: str, request: Request) -> StreamOut:
        """End the stream: the segments in work are finished, the playlists end, the recording is written."""
        await record_of(stream_id, request)
        record = await live.end(stream_id)
        return await out(record, request)

    @app.put("/live/{stream_key}/{name}", status_code=201, tags=["live"], responses=documented(404, 409, 413, 422))
    async def push_segment(stream_key: str, name: str, request: Request) -> dict[str, object]:
        """HTTP push: one MPEG-TS segment (`{seq}.ts`), cut on keyframes by the encoder."""
        stem, dot, ext = name.rpartition(".")
        if not dot or ext not in ("ts", "mp4", "mkv") or not (stem.isascii() and stem.isdigit() and len(stem) <= 18):
            raise ApiError(422, "invalid_request", f"push to {{push_url}}/{{seq}}.ts with a number as seq, not {name!r}")
        record = await asyncio.to_thread(store.by_key, stream_key)
        if record is None:
            raise ApiError(404, "stream_not_found", "no stream has this key")
        session_dir = live.parts.work_dir / f"live-{record.id}" / "push"
        await asyncio.to_thread(session_dir.mkdir, parents=True, exist_ok=True)
        path = session_dir / f"{int(stem):09d}-{os.urandom(3).hex()}.{ext}"
        size = await _receive(limited(request, MAX_PUSH_BYTES, "a pushed segment"), path)
        if size == 0:
            path.unlink(missing_ok=True)
            raise ApiError(422, "invalid_media", "the segment is empty")
        try:
            record, seq = await live.push(stream_key, int(stem), path)
        except MediaError as exc:
            path.unlink(missing_ok=True)
            raise ApiError(422, "invalid_media", f"not a usable segment: {exc}") from exc
        except StreamEnded as exc:
            path.unlink(missing_ok=True)
            raise ApiError(409, "stream_ended", str(exc)) from exc
        except JobNotFound as exc:
            path.unlink(missing_ok=True)
            raise ApiError(404, "stream_not_found", "no stream has this key") from exc
        return {"stream": record.id, "seq": seq}

    @app.get(f"/streams/{{stream_id}}/{MEDIA}", tags=["live"], response_class=Response, responses=documented(404, 422))
    async def master_playlist(stream_id: str) -> Response:
        window = await live.window(await record_of(stream_id))
        if window is None:
            raise ApiError(404, "not_live", "nothing is listed yet: the stream has not gone live")
        return Response(window.master(), media_type=PLAYLIST, headers=NO_CACHE)

    @app.get(f"/streams/{{stream_id}}/{{rendition}}/{MEDIA}", tags=["live"], response_class=Response,
             responses=documented(404, 422))
    async def media_playlist(stream_id: str, rendition: str) -> Response:
        window = await live.window(await record_of(stream_id))
        if window is None or rendition not in window.renditions:
            raise ApiError(404, "not_found", f"stream {stream_id!r} has no live rendition {rendition!r}")
        return Response(window.media(rendition), media_type=PLAYLIST, headers=NO_CACHE)

    # Not response_class=HTMLResponse: that would document its errors as HTML too.
    @app.get("/streams/{stream_id}/player", tags=["live"],
             responses={200: {"content": {"text/html": {}}, "description": "The player page."}, **documented(404, 422)})
    async def player(stream_id: str) -> HTMLResponse:
        """A page that plays the stream with hls.js."""
        record = await record_of(stream_id)
        page = (_STATIC / "player.html").read_text()
        page = page.replace("{{NAME}}", html.escape(record.name or f"stream {record.id}"))
        page = page.replace("{{PLAYBACK}}", f"/streams/{record.id}/{MEDIA}").replace("{{STATIC}}", "/live-static")
        return HTMLResponse(page, headers=NO_CACHE)

    @app.get("/streams/{stream_id}/{path:path}", tags=["live"], response_class=Response, responses=documented(404, 422))
    async def stream_file(stream_id: str, path: str) -> Response:
        """A segment, or a file of the recording."""
        # The stream's own folder: not `..` (the folder of every stream), nor a path.
        target = None
        uploader = live.parts.uploader
        if stream_id not in (".", "..") and "/" not in stream_id:
            root = live.parts.outputs_dir / "live" / stream_id
            target = await asyncio.to_thread(file_under, root, path)
            if target is None and uploader is not None:  # written on another gateway's machine: the store's
                elsewhere = await asyncio.to_thread(path_under, root, path)
                if elsewhere is not None and await asyncio.to_thread(uploader.stored, uploader.key(elsewhere)):
                    target = elsewhere
        if target is None:
            raise ApiError(404, "not_found", f"stream {stream_id!r} has no file {path!r}")
        if target.suffix != ".m3u8" and uploader is not None:  # a stored segment: from the store (gateway.outputs)
            key = target.relative_to(live.parts.outputs_dir.resolve()).as_posix()
            url = uploader.objects.url(key) if await asyncio.to_thread(uploader.stored, key) else None
            if url is not None:
                return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
        if target.suffix == ".m3u8":
            if uploader is not None:
                await asyncio.to_thread(uploader.fetch, target)
            return FileResponse(target, media_type=PLAYLIST)
        return FileResponse(target, media_type="video/mp4")

    @app.get("/live-static/hls.min.js", include_in_schema=False)
    async def hls_js() -> Response:
        return Response((_STATIC / "hls.min.js").read_bytes(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


async def _receive(request: Request, dest: Path) -> int:
    size = 0
    with dest.open("wb") as out:
        async for chunk in request.stream():
            size += len(chunk)
            await asyncio.to_thread(out.write, chunk)
    return size
