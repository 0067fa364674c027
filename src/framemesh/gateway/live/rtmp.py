"""The gateway's RTMP listener: what OBS, phones and `ffmpeg -f flv rtmp://…` push to.

Built on pyrtmp (an asyncio RTMP server from PyPI): one TCP port for every stream;
the stream key comes with the publish command, and a key `admit` refuses is turned
away there with an RTMP error status (ffmpeg prints "Server error: <why>" and exits
1 within a fraction of a second). An accepted publish's audio and video messages are
written, as FLV tags, into the `Feed` that `admit` returned; the connection's end,
however it ends, closes the feed.

Two things pyrtmp 0.3.1 lacks are added here: a correct timestamp for a message
that starts with a one-byte chunk header (it reused the previous timestamp, so
ffmpeg's steady audio came out with frozen clocks), and a read timeout (a client that
goes silent without closing is dropped after `idle_timeout`).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger("framemesh.gateway.live")

FLV_HEADER = b"FLV\x01\x05\x00\x00\x00\x09" + b"\x00\x00\x00\x00"  # audio and video, then PreviousTagSize0
AUDIO, VIDEO, SCRIPT = 8, 9, 18


class Feed(Protocol):
    """Where an accepted publish's FLV bytes go."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class Refused(Exception):
    """`admit` turns a publish away; the message goes back to the encoder."""


Admit = Callable[[str], Feed]  # stream key → its feed, or raises Refused


def flv_tag(kind: int, timestamp_ms: int, body: bytes) -> bytes:
    """One FLV tag (audio, video or script data) and its trailing size."""
    n = len(body)
    head = bytes([kind]) + n.to_bytes(3, "big")
    head += (timestamp_ms & 0xFFFFFF).to_bytes(3, "big") + bytes([(timestamp_ms >> 24) & 0xFF]) + b"\x00\x00\x00"
    return head + body + struct.pack(">I", 11 + n)


def stream_key(publishing_name: str) -> str:
    """The key an encoder published: the name without a query string (`KEY?x=1`)."""
    return publishing_name.split("?", 1)[0].strip("/")


def _import_pyrtmp() -> Any:
    """Import pyrtmp without what its import does to logging (it configures the root
    logger for DEBUG and pins its own loggers there)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import pyrtmp.rtmp  # noqa: PLC0415 (the side effect is undone below)

    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("pyrtmp"):
            logging.getLogger(name).setLevel(logging.CRITICAL)  # it logs every dropped client as an exception
    _patch_timestamps()
    return pyrtmp.rtmp


def _patch_timestamps() -> None:
    """A one-byte (type 3) chunk header that starts a new message adds the previous
    message's timestamp delta on that chunk stream (RTMP 5.3.1.2.4); pyrtmp 0.3.1 kept
    the previous timestamp instead."""
    from pyrtmp.session_manager import SessionManager

    original = SessionManager.read_raw_chunk
    if getattr(original, "framemesh_patched", False):
        return

    async def read_raw_chunk(self: Any) -> Any:
        chunk = await original(self)
        if chunk.raw_chunk_number == 0:  # the first chunk of a message
            state = self.__dict__.setdefault("_framemesh_clock", {})  # chunk stream → (timestamp, delta)
            previous, delta = state.get(chunk.chunk_id, (0, 0))
            if chunk.chunk_type == 0:
                delta = chunk.timestamp  # absolute; a following type 3 header adds it again
            elif chunk.chunk_type in (1, 2):
                delta = chunk.timestamp - previous
            else:
                chunk.timestamp = previous + delta
            state[chunk.chunk_id] = (chunk.timestamp, delta)
        return chunk

    read_raw_chunk.framemesh_patched = True  # type: ignore[attr-defined]
    SessionManager.read_raw_chunk = read_raw_chunk


class RTMPServer:
    """Listens for RTMP publishes on `port`; `admit(key)` decides who may publish."""

    def __init__(self, admit: Admit, *, host: str, port: int, idle_timeout: float = 10.0) -> None:
        self.admit = admit
        self.host = host
        self.port = port
        self.idle_timeout = idle_timeout
        self._server: asyncio.base_events.Server | None = None
        self._sessions: set[Any] = set()

    async def start(self) -> None:
        rtmp = _import_pyrtmp()
        controller = _controller(rtmp, self)
        loop = asyncio.get_running_loop()
        # pyrtmp's own server class takes no controller of ours: serve its protocol directly.
        self._server = await loop.create_server(lambda: rtmp.RTMPProtocol(controller=controller), self.host, self.port)
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]
        log.info("RTMP ingest on rtmp://%s:%d/live/<stream key>", self.host, self.port)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for session in list(self._sessions):
            session.writer.transport.abort()  # each connection's cleanup closes its feed
        await self._server.wait_closed()
        self._server = None


def _controller(rtmp: Any, server: RTMPServer) -> Any:
    from bitstring import BitStream
    from pyrtmp import StreamClosedException
    from pyrtmp.amf.serializers import AMF0Serializer
    from pyrtmp.messages import Chunk

    def status(stream_id: int, level: str, code: str, description: str) -> Any:
        data = BitStream()
        for value in ("onStatus", 0, None, {"level": level, "code": code, "description": description}):
            AMF0Serializer.create_object(data, value)
        return Chunk(chunk_type=0, chunk_id=3, timestamp=0, msg_length=len(data.bytes), msg_type_id=0x14,
                     msg_stream_id=stream_id, payload=data.bytes)

    class Controller(rtmp.SimpleRTMPController):  # type: ignore[misc, name-defined]
        async def on_handshake(self, session: Any) -> None:
            session.state = {"feed": None, "watchdog": asyncio.ensure_future(self._watch(session))}
            server._sessions.add(session)
            await super().on_handshake(session)

        async def _watch(self, session: Any) -> None:
            seen = -1
            while True:
                await asyncio.sleep(server.idle_timeout)
                if session.total_read_bytes == seen:
                    log.info("RTMP %s sent nothing for %g s: dropped", session.peername, server.idle_timeout)
                    session.writer.transport.abort()
                    return
                seen = session.total_read_bytes

        async def on_ns_publish(self, session: Any, message: Any) -> None:
            key = stream_key(message.publishing_name)
            try:
                feed = server.admit(key)
            except Refused as exc:
                log.info("RTMP publish refused from %s: %s", session.peername, exc)
                session.write_chunk_to_stream(status(message.msg_stream_id, "error", "NetStream.Publish.BadName", str(exc)))
                await session.drain()
                raise StreamClosedException(str(exc)) from None
            feed.write(FLV_HEADER)
            session.state["feed"] = feed
            await super().on_ns_publish(session, message)

        async def on_metadata(self, session: Any, message: Any) -> None:
            if session.state.get("feed") is not None:
                session.state["feed"].write(flv_tag(SCRIPT, 0, message.to_raw_meta()))

        async def on_video_message(self, session: Any, message: Any) -> None:
            if session.state.get("feed") is not None:
                session.state["feed"].write(flv_tag(VIDEO, message.timestamp, message.payload))

        async def on_audio_message(self, session: Any, message: Any) -> None:
            if session.state.get("feed") is not None:
                session.state["feed"].write(flv_tag(AUDIO, message.timestamp, message.payload))

        async def on_unknown_message(self, session: Any, message: Any) -> None:
            pass  # releaseStream, FCPublish, FCUnpublish, acknowledgements: nothing to answer

        async def on_ns_delete_stream(self, session: Any, message: Any) -> None:
            pass  # the encoder unpublished; the connection's end follows

        async def on_stream_closed(self, session: Any, exception: Any) -> None:
            pass

        async def cleanup(self, session: Any) -> None:
            state = session.state if isinstance(session.state, dict) else {}
            if state.get("watchdog") is not None:
                state["watchdog"].cancel()
            if state.get("feed") is not None:
                state["feed"].close()
                state["feed"] = None
            server._sessions.discard(session)

    return Controller()
