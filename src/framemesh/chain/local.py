"""A local dev chain in a process of its own, started on a free loopback port and
stopped after: `LocalChain` does the starting, waiting and stopping; `Anvil`
(`framemesh.chain.anvil`) and `ServedChain` (the embedded chain behind
`framemesh chain serve`) say which command to run.

    with ServedChain.start() as node:
        chain = Chain.connect(node.url)

`start` returns once the node answers JSON-RPC; `stop` terminates it (and kills it if it
does not exit).  The process held is the node itself, not a wrapper, so stopping it
stops the chain.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TypeVar

from .errors import ChainError, ChainUnavailable
from .keys import EMBEDDED_CHAIN_ID

__all__ = ["LocalChain", "ServedChain", "free_port"]

_Node = TypeVar("_Node", bound="LocalChain")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalChain:
    """A running local chain process; build it with a subclass's `start()`."""

    name = "chain"

    def __init__(self, process: subprocess.Popen[bytes], url: str, chain_id: int) -> None:
        self.process = process
        self.url = url
        self.chain_id = chain_id

    @classmethod
    def _launch(cls: type[_Node], command: Callable[[int], Sequence[str]], chain_id: int, timeout: float) -> _Node:
        """Run ``command(port)`` on a free loopback port until one answers; the free
        port may be taken between choosing and binding, so up to three tries."""
        last_error = ""
        for _ in range(3):
            port = free_port()
            process = subprocess.Popen(
                list(command(port)), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            node = cls(process, f"http://127.0.0.1:{port}", chain_id)
            try:
                node._wait_ready(timeout)
                return node
            except ChainError as exc:
                last_error = str(exc)
                node.stop()
        raise ChainError(f"{cls.name} ({command(0)[0]}) did not start: {last_error}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode(errors="replace").strip() if self.process.stderr else ""
                raise ChainError(f"{self.name} exited with code {self.process.returncode}: {stderr[-500:]}")
            if self.answers():
                return
            time.sleep(0.05)
        raise ChainUnavailable(self.url, f"{self.name} did not answer within {timeout:g} s")

    def answers(self) -> bool:
        """True if the node answers ``eth_chainId``."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=1.0) as response:
                return "result" in json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the node; kill it if it has not exited after `timeout` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()

    def __enter__(self: _Node) -> _Node:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited {self.process.returncode}"
        return f"{type(self).__name__}({self.url}, pid={self.process.pid}, {state})"


class ServedChain(LocalChain):
    """A fresh embedded chain (py-evm) served over JSON-RPC by `framemesh chain serve`
    in a process of its own, so that several processes share one chain: its ten dev
    accounts are unlocked, and it mines a block per transaction, as anvil does."""

    name = "framemesh chain serve"

    @classmethod
    def start(cls, *, timeout: float = 60.0, python: str = sys.executable) -> ServedChain:
        """Start it on a free loopback port and wait until it answers (importing
        py-evm and building the chain takes a few seconds)."""
        return cls._launch(
            lambda port: [python, "-m", "framemesh", "chain", "serve", "--host", "127.0.0.1", "--port", str(port)],
            EMBEDDED_CHAIN_ID,
            timeout,
        )
