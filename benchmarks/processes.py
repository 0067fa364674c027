"""Nodes for the benchmarks: each a real `framemesh` process on a loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from framemesh.net.server import free_port


def start_node(root: Path, name: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`framemesh ARGS --port P` logging to ROOT/NAME.log; returns once /healthz answers."""
    port = free_port()
    log = (root / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "framemesh", *args, "--port", str(port), "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError(f"{name} did not start: {(root / f'{name}.log').read_text()[-2000:]}")
        time.sleep(0.1)


def stop_nodes(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to all, then wait (a node stops within seconds; past 20 s, killed)."""
    procs = list(procs)
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
