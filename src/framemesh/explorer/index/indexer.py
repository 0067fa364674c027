"""`Indexer`: the protocol contracts' events into the explorer's SQLite file.

    indexer = Indexer(protocol, "explorer.sqlite")
    indexer.sync()                     # catch up with the head, in block-range batches
    await indexer.run(interval=2.0)    # follow the head until cancelled
    indexer.status()                   # IndexStatus (same as ChainHistory.status())

A batch's rows and the cursor (the last indexed block) are written in one
transaction, so a restart resumes after the last whole batch, never duplicates.
"""

from __future__ import annotations

import os

from framemesh.protocol.network import Protocol
from framemesh.wire.explorer import IndexStatus


class Indexer:
    def __init__(
        self,
        protocol: Protocol,
        path: str | os.PathLike[str],
        *,
        batch_blocks: int = 2_000,
        start_block: int | None = None,
    ) -> None:
        """`start_block`: the first block to index on a new file (default: the
        deployment's block). Raises `IndexMismatch` if the file indexes another chain
        or deployment."""
        raise NotImplementedError

    def step(self, to_block: int | None = None) -> int:
        """Index one batch (at most `batch_blocks` blocks, up to `to_block` or the head);
        returns the last indexed block."""
        raise NotImplementedError

    def sync(self, to_block: int | None = None) -> int:
        """Index batches until `to_block` (default: the head at the call); returns the last indexed block."""
        raise NotImplementedError

    async def run(self, interval: float = 2.0) -> None:
        """Follow the head: sync, sleep `interval` seconds, again, until cancelled.
        Chain errors are logged and retried next time round, not raised."""
        raise NotImplementedError

    def status(self) -> IndexStatus:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
