"""The RTMP listener with real encoders: PyAV's (framemesh stream push) and Debian's
ffmpeg command line. A known key is taken and its media cut into segments; an unknown
one is refused at the publish; a client that goes quiet is dropped."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path


from framemesh.gateway.live.ingest import Ingest
from framemesh.gateway.live.rtmp import Refused, RTMPServer, stream_key
from framemesh.media.live_segment import LiveSegment
from framemesh.media.testclip import make_test_clip


class Listener:
    """An RTMP server admitting one key; what it cut, and how its ingest ended."""

    def __init__(self, out: Path, key: str = "good") -> None:
        self.out, self.key = out, key
        self.segments: list[LiveSegment] = []
        self.ended: list[str | None] = []
        self.server = RTMPServer(self.admit, host="127.0.0.1", port=0, idle_timeout=2.0)

    def admit(self, key: str) -> Ingest:
        if key != self.key:
            raise Refused("unknown stream key")
        ingest = Ingest(self.out, name=f"c{len(self.ended)}", on_segment=lambda seg, facts: self.segments.append(seg),
                        on_end=self.ended.append)
        ingest.start()
        return ingest

    def url(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.server.port}/live/{key}"


async def pushed(clip: Path, url: str) -> tuple[int, str, float]:
    """`push_realtime` in a process of its own, as `framemesh stream push` runs it (in this
    one, PyAV would hold the GIL while it waits on the listener this process runs)."""
    code = (
        "import sys; from pathlib import Path; from framemesh.media.push import push_realtime\n"
        "try:\n print(push_realtime(Path(sys.argv[1]), sys.argv[2]))\n"
        "except Exception as exc:\n print(type(exc).__name__, exc, file=sys.stderr); sys.exit(1)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, str(clip), url, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, err.decode(), float(out or 0)


async def _until(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


async def test_a_file_pushed_in_real_time_is_cut_into_segments(tmp_path: Path) -> None:
    clip = make_test_clip(tmp_path / "clip.mp4", duration=4.0, width=320, height=180)
    listener = Listener(tmp_path / "out")
    await listener.server.start()
    try:
        started = time.monotonic()
        code, err, sent = await pushed(clip, listener.url("good"))
        took = time.monotonic() - started
        assert code == 0, err
        await _until(lambda: listener.ended)
    finally:
        await listener.server.stop()
    assert listener.ended == [None]
    assert [round(s.duration, 2) for s in listener.segments] == [2.0, 2.0]
    assert abs(sent - 4.0) < 0.1 and took >= 3.5, "sent at the pace of its timestamps"


async def test_a_file_in_another_codec_is_encoded_on_the_way(tmp_path: Path) -> None:
    webm = tmp_path / "clip.webm"
    subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=320x180:rate=30", "-t", "3", "-c:v", "libvpx-vp9", "-deadline", "realtime", str(webm)],
                   check=True)
    listener = Listener(tmp_path / "out")
    await listener.server.start()
    try:
        code, err, _ = await pushed(webm, listener.url("good"))
        assert code == 0, err
        await _until(lambda: listener.ended)
    finally:
        await listener.server.stop()
    assert listener.ended == [None] and len(listener.segments) >= 1
    assert abs(sum(s.duration for s in listener.segments) - 3.0) < 0.2


async def test_an_unknown_key_is_refused_at_the_publish(tmp_path: Path) -> None:
    clip = make_test_clip(tmp_path / "clip.mp4", duration=2.0, width=160, height=96)
    listener = Listener(tmp_path / "out")
    await listener.server.start()
    try:
        code, err, _ = await pushed(clip, listener.url("wrong"))
        assert code == 1 and err.startswith("MediaError"), err
        proc = await asyncio.create_subprocess_exec(
            shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", str(clip), "-c", "copy",
            "-f", "flv", listener.url("wrong"), stderr=subprocess.PIPE,
        )
        _, err = await proc.communicate()
    finally:
        await listener.server.stop()
    assert proc.returncode != 0 and b"unknown stream key" in err
    assert listener.ended == [] and listener.segments == []


async def test_a_client_that_goes_quiet_is_dropped(tmp_path: Path) -> None:
    listener = Listener(tmp_path / "out")
    await listener.server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.server.port)
        writer.write(b"\x03")  # the first byte of a handshake, then silence
        await writer.drain()
        closed = await asyncio.wait_for(reader.read(), timeout=10)  # the server hangs up
        writer.close()
    finally:
        await listener.server.stop()
    assert isinstance(closed, bytes)


def test_the_key_is_the_publishing_name_without_its_query() -> None:
    assert stream_key("abc?token=1") == "abc" and stream_key("abc") == "abc"
