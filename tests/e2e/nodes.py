"""Starting real nodes for end-to-end tests: in this process (threads) or as their own processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from framemesh.gateway.app import create_app as create_gateway
from framemesh.gateway.config import GatewayConfig
from framemesh.net.server import ServerThread, free_port
from framemesh.orchestrator.app import create_app as create_orchestrator
from framemesh.orchestrator.config import OrchestratorConfig


def orchestrator_thread(root: Path, name: str, capacity: int = 1) -> ServerThread:
    config = OrchestratorConfig(data_dir=root / name, name=name, capacity=capacity)
    return ServerThread(create_orchestrator(config)).start()


def gateway_thread(root: Path, orchestrators: list[str], **overrides: object) -> ServerThread:
    config = GatewayConfig(
        data_dir=root / "gateway",
        orchestrators=tuple(orchestrators),
        avoid_seconds=overrides.pop("avoid_seconds", 2.0),  # type: ignore[arg-type]
        segment_timeout=overrides.pop("segment_timeout", 60.0),  # type: ignore[arg-type]
        # Open unless a test asks for a token or keys: tests call it without one.
        open=overrides.pop("open", not (overrides.get("api_token") or overrides.get("admin_token"))),  # type: ignore[arg-type]
        **overrides,  # type: ignore[arg-type]
    )
    return ServerThread(create_gateway(config)).start()


class NodeProcess:
    """A node started with the real `framemesh` command, in its own process."""

    def __init__(self, args: list[str], port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "framemesh", *args, "--port", str(port), "--log-level", "warning"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # its own process group: its workers go with it
        )
        self.log_path = log

    def wait_ready(self, timeout: float = 30.0) -> "NodeProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"node on {self.url} not up in {timeout} s: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """Die at once, as a crashed machine would (the node; its workers notice and exit)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    def _reap_group(self) -> None:
        """Whatever of the node's process group is left (worker processes) after it ended."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        if self._log.closed:
            self._reap_group()
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reap_group()
        self._log.close()


@contextmanager
def orchestrator_process(
    root: Path, name: str, capacity: int = 1, *extra: str, ready: float = 30.0
) -> Iterator[NodeProcess]:
    port = free_port()
    node = NodeProcess(
        ["orchestrator", "start", "--name", name, "--capacity", str(capacity), "--data-dir", str(root / name), *extra],
        port,
        root / f"{name}.log",
    )
    try:
        yield node.wait_ready(ready)
    finally:
        node.stop()


@contextmanager
def gateway_process(root: Path, orchestrators: list[str], *extra: str) -> Iterator[NodeProcess]:
    port = free_port()
    keyed = any(arg in extra for arg in ("--api-token", "--admin-token"))
    args = ["gateway", "start", "--data-dir", str(root / "gateway"), *extra, *(() if keyed else ("--open",))]
    for url in orchestrators:
        args += ["--orchestrator", url]
    node = NodeProcess(args, port, root / "gateway.log")
    try:
        yield node.wait_ready()
    finally:
        node.stop()
