"""How long the gateway keeps what it made: a job that ended more than `retention`
seconds ago is forgotten, its records, its outputs and its working files, so the
gateway's disk and database do not grow without bound.

The sweep runs off the event loop every `interval` seconds. The records go first,
in one transaction, then the files: a crash in between leaves files no record names,
which the next sweep does not see but which hurt nothing; never a record that points
at deleted files. The gateway's result cache forgets an answer whose job is gone.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger("framemesh.gateway")


class EndedJobs(Protocol):
    def delete_ended(self, before: float) -> list[str]: ...


@dataclass(frozen=True)
class Kept:
    """One kind of job: its records, and the directories each of its jobs fills."""

    store: EndedJobs
    dirs: Callable[[str], list[Path]]


@dataclass(frozen=True)
class Swept:
    jobs: int
    bytes_freed: int


class Janitor:
    def __init__(
        self, kinds: list[Kept], *, retention: float, interval: float, forget: Callable[[Path], None] | None = None,
    ) -> None:
        if retention <= 0 or interval <= 0:
            raise ValueError("retention and interval must be positive (no retention: no janitor)")
        self.kinds = kinds
        self.forget = forget  # each deleted directory's other copies (the object store's)
        self.retention = retention
        self.interval = interval
        self.swept_jobs = 0

    def sweep(self, now: float | None = None) -> Swept:
        """Forget every job that ended more than `retention` seconds before `now`."""
        before = (time.time() if now is None else now) - self.retention
        jobs = freed = 0
        for kind in self.kinds:
            for job_id in kind.store.delete_ended(before):
                jobs += 1
                for path in kind.dirs(job_id):
                    freed += _size(path)
                    shutil.rmtree(path, ignore_errors=True)
                    if self.forget is not None:
                        self.forget(path)
        self.swept_jobs += jobs
        if jobs:
            log.info("retention: forgot %d job(s) that ended over %.0f s ago, %d bytes freed", jobs, self.retention, freed)
        return Swept(jobs, freed)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.sweep)
            except Exception:  # a failed sweep is retried at the next interval
                log.exception("retention sweep failed")
            await asyncio.sleep(self.interval)


def _size(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
