"""Running a node's ASGI app on uvicorn: in the foreground for the CLI, in a thread
for the demo and the tests (several nodes in one process).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn


# Seconds a node stopping waits for the requests in flight before it cancels them.
GRACE = 5


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _config(app: Any, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACE,
    )


def serve_forever(app: Any, *, host: str, port: int, log_level: str = "info") -> None:
    """Serve in the foreground until SIGINT/SIGTERM (the CLI's `start` commands).

    On the signal the node takes no new connection, lets the requests in flight finish
    for up to GRACE seconds, then runs its own shutdown (work that did not finish is
    handed back: a gateway's jobs resume when it starts again), and exits 0."""
    server = uvicorn.Server(_config(app, host, port, log_level))
    # uvicorn sends the signal again once it has stopped, so that the default action
    # ends the process (status 128 + signal); a stop that was asked for is a clean exit.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    server.run()


@dataclass
class ServerThread:
    """A uvicorn server on its own thread and event loop; `stop()` shuts it down cleanly."""

    app: Any
    host: str = "127.0.0.1"
    port: int = 0
    log_level: str = "warning"
    _server: uvicorn.Server | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> "ServerThread":
        if self.port == 0:
            self.port = free_port(self.host)
        self._server = uvicorn.Server(_config(self.app, self.host, self.port, self.log_level))
        # Signal handlers belong to the main thread; a server on a side thread must not install them.
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve()),  # type: ignore[union-attr]
            name=f"uvicorn-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"server on {self.url} exited during start-up")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on {self.url} did not start in {timeout:.0f} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
