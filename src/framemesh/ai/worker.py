"""Worker processes: each warm model runs in a process of its own, so a crash, an
out-of-memory kill or a hung model never takes the orchestrator down.

The parent sends a request over a pipe (pickled) and waits for the result or for the
process to end, whichever comes first; an end mid-job raises `WorkerDied`, and the
owner (`framemesh.ai.host.ModelHost`) starts a fresh process. Processes are started
with "spawn" (no copied threads or CUDA state) and load their model before saying
"ready". A `Worker`'s methods block: the host calls them from threads.

Streaming: `call(request, on_piece=f)` sends the request wrapped in `Streamed`; the
process answers ("piece", text) for each piece of output as the pipeline makes it (an
LLM's tokens), then the result; the parent hands each piece to `f` as it arrives.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from framemesh.ai.config import ModelSpec
from framemesh.ai.errors import AIError, ModelLoadError, PipelineFailed, WorkerDied
from framemesh.ai.requests import DEFAULT_LIMITS, Limits

START_TIMEOUT = 300.0  # seconds to load a model


@dataclass(frozen=True)
class Streamed:
    """A request whose output pieces the process sends as they are made."""

    request: Any


class Worker:
    """One model in one process; one request at a time."""

    def __init__(self, spec: ModelSpec, limits: Limits = DEFAULT_LIMITS, start_method: str = "spawn") -> None:
        self.spec = spec
        self.limits = limits
        self._ctx = multiprocessing.get_context(start_method)
        self._proc: Any = None
        self._conn: Connection | None = None
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    def start(self) -> None:
        """Start the process and wait until its model is loaded and warm."""
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(
            target=_serve,
            args=(child, self.spec, self.limits),
            name=f"framemesh-ai:{self.spec.pipeline}:{self.spec.model_id}",
            daemon=True,
        )
        self._proc.start()
        child.close()
        self._conn = parent
        kind, value = self._receive(START_TIMEOUT, "loading the model")
        if kind != "ready":
            self.stop()
            raise value

    def call(
        self, request: Any, timeout: float | None = None, on_piece: Callable[[Any], None] | None = None
    ) -> Any:
        """Run one request in the process; raise what the pipeline raised, or WorkerDied.
        With `on_piece`, each piece of output is handed to it as the process sends it;
        `timeout` bounds the whole job."""
        if self._conn is None or not self.alive:
            raise WorkerDied(f"{self._name()} is not running")
        try:
            self._conn.send(request if on_piece is None else Streamed(request))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise self._died("sending the request") from None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            kind, value = self._receive(left, "running a request", timeout)
            if kind == "piece" and on_piece is not None:
                on_piece(value)
                continue
            if kind == "error":
                raise value
            return value

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(2)  # an idle worker is gone at once; one mid-job is not waited for
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
            self._proc = None

    def _receive(self, timeout: float | None, doing: str, limit: float | None = None) -> tuple[str, Any]:
        assert self._conn is not None and self._proc is not None
        ready = wait([self._conn, self._proc.sentinel], timeout)
        if self._conn in ready:
            try:
                return self._conn.recv()
            except (EOFError, ConnectionResetError, OSError):
                pass
        if not ready:
            self._proc.kill()
            self._proc.join(5)
            raise WorkerDied(f"{self._name()} timed out after {limit or timeout} s {doing}; killed")
        raise self._died(doing)

    def _died(self, doing: str) -> WorkerDied:
        assert self._proc is not None
        self._proc.join(5)
        code = self._proc.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return WorkerDied(f"{self._name()} (pid {self._proc.pid}) ended while {doing}: {how}")

    def _name(self) -> str:
        return f"worker for {self.spec.pipeline} {self.spec.model_id!r}"


def _serve(conn: Connection, spec: ModelSpec, limits: Limits) -> None:
    """The worker process: load, warm up, then answer requests until told to stop."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from framemesh.ai.pipeline import create_pipeline

    try:
        pipe = create_pipeline(spec, limits)
        pipe.load()
        pipe.warmup()
    except AIError as exc:
        conn.send(("error", exc))
        return
    except Exception as exc:  # noqa: BLE001 - any failure to load is reported, not raised
        conn.send(("error", ModelLoadError(f"{spec.model_id!r}: {type(exc).__name__}: {exc}")))
        return
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            if isinstance(request, Streamed):
                result = pipe.run(request.request, lambda piece: conn.send(("piece", piece)))
            else:
                result = pipe.run(request)
            conn.send(("ok", result))
        except AIError as exc:
            conn.send(("error", exc))
        except Exception as exc:  # noqa: BLE001 - the parent gets every failure as an AIError
            conn.send(("error", PipelineFailed(f"{spec.model_id!r}: {type(exc).__name__}: {exc}")))
