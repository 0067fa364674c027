"""Start and stop a local `anvil` dev chain (Foundry) for tests, the demo and devnets.

    with Anvil.start() as anvil:
        chain = Chain.connect(anvil.url)

The binary is found in this order: ``$FRAMEMESH_ANVIL``; ``node_modules/@foundry-rs/
anvil-linux-amd64/bin/anvil`` under the repository root or the current directory
(``scripts/install-anvil`` puts it there); ``anvil`` on ``PATH``.  anvil listens on a
free loopback port; `start` returns once it answers JSON-RPC, `stop` terminates it
(and kills it if it does not exit).  The process we hold is anvil itself, not a
wrapper, so stopping it stops the chain.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from .errors import AnvilNotFound, ChainError, ChainUnavailable

ANVIL_ENV = "FRAMEMESH_ANVIL"  # also named in errors.AnvilNotFound
_NPM_BIN = Path("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
_REPO_ROOT = Path(__file__).resolve().parents[3]  # src/framemesh/chain/anvil.py -> repo

__all__ = ["ANVIL_ENV", "Anvil", "AnvilNotFound", "find_anvil", "free_port"]


def find_anvil() -> Path | None:
    """The anvil binary to use, or None."""
    configured = os.environ.get(ANVIL_ENV)
    if configured:
        path = Path(configured)
        return path if path.is_file() and os.access(path, os.X_OK) else None
    for root in (_REPO_ROOT, Path.cwd()):
        candidate = root / _NPM_BIN
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("anvil")
    return Path(found) if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Anvil:
    """A running anvil process.  Use `Anvil.start()`, as a context manager or not."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, chain_id: int) -> None:
        self.process = process
        self.url = url
        self.chain_id = chain_id

    @classmethod
    def start(
        cls,
        *,
        chain_id: int = 31337,
        block_time: float | None = None,
        extra_args: list[str] | None = None,
        timeout: float = 10.0,
        binary: str | os.PathLike[str] | None = None,
    ) -> Anvil:
        """Start anvil on a free loopback port and wait until it answers.

        By default blocks are mined on every transaction; `block_time` (seconds)
        mines on a timer instead.
        """
        exe = Path(binary) if binary else find_anvil()
        if exe is None:
            raise AnvilNotFound()
        last_error = ""
        for _ in range(3):  # the free port may be taken between choosing and binding
            port = free_port()
            args = [str(exe), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), "--silent"]
            if block_time is not None:
                args += ["--block-time", f"{block_time:g}"]
            args += extra_args or []
            process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            anvil = cls(process, f"http://127.0.0.1:{port}", chain_id)
            try:
                anvil._wait_ready(timeout)
                return anvil
            except ChainError as exc:
                last_error = str(exc)
                anvil.stop()
        raise ChainError(f"anvil ({exe}) did not start: {last_error}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode(errors="replace").strip() if self.process.stderr else ""
                raise ChainError(f"anvil exited with code {self.process.returncode}: {stderr[-500:]}")
            if self.answers():
                return
            time.sleep(0.05)
        raise ChainUnavailable(self.url, f"anvil did not answer within {timeout:g} s")

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
        """Terminate anvil; kill it if it has not exited after `timeout` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()

    def __enter__(self) -> Anvil:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else f"exited {self.process.returncode}"
        return f"Anvil({self.url}, pid={self.process.pid}, {state})"
