"""Start and stop a local `anvil` dev chain (Foundry) for tests, the demo and devnets.

    with Anvil.start() as anvil:
        chain = Chain.connect(anvil.url)

The binary is found in this order: ``$FRAMEMESH_ANVIL``; ``node_modules/@foundry-rs/
anvil-linux-amd64/bin/anvil`` under the repository root or the current directory
(``scripts/install-anvil`` puts it there); ``anvil`` on ``PATH``.  Starting, waiting
and stopping are `framemesh.chain.local.LocalChain`'s: anvil listens on a free loopback
port; `start` returns once it answers JSON-RPC, `stop` terminates it (and kills it if
it does not exit).  The process we hold is anvil itself, not a wrapper, so stopping it
stops the chain.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import AnvilNotFound
from .local import LocalChain, free_port

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


class Anvil(LocalChain):
    """A running anvil process.  Use `Anvil.start()`, as a context manager or not."""

    name = "anvil"

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

        def command(port: int) -> list[str]:
            args = [str(exe), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), "--silent"]
            if block_time is not None:
                args += ["--block-time", f"{block_time:g}"]
            return args + (extra_args or [])

        return cls._launch(command, chain_id, timeout)
