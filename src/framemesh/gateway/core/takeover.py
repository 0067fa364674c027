"""The gateway's side of its leases (`core.leases`), in the background: every third of
a lease it renews the leases of the jobs it runs, stops the ones another gateway holds
now, and takes over the unfinished jobs whose leases ran out.

A job whose gateway was killed is taken over within `lease_seconds` (the lease runs
out) plus one pass (a third of it): 13.3 s at the default 10 s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from framemesh.gateway.core.leases import Lease, LeasedRows

log = logging.getLogger("framemesh.gateway")


class Leasing(Protocol):
    """A runner of jobs held under leases (VOD jobs, AI jobs)."""

    @property
    def leases(self) -> LeasedRows: ...
    @property
    def held(self) -> set[str]: ...
    def claim(self, *, own: bool = False) -> list[str]: ...
    def take(self, job_ids: list[str]) -> None: ...
    def drop(self, job_ids: set[str]) -> None: ...


class JobTasks:
    """A runner's side of `Leasing`: the background task of each job it runs, one at a time."""

    KIND = "job"  # in log lines
    _tasks: dict[str, asyncio.Task[None]]
    store: Any  # its record store, with its `leases`

    @property
    def leases(self) -> LeasedRows:
        return self.store.leases  # type: ignore[no-any-return]

    def claim(self, *, own: bool = False) -> list[str]:
        raise NotImplementedError

    def take(self, job_ids: list[str]) -> None:
        raise NotImplementedError

    def resume(self) -> list[str]:
        """Claim and carry on the unfinished jobs no gateway holds: left by a previous run
        of this one (held under its name), or by another whose lease ran out."""
        ids = self.claim(own=True)
        self.take(ids)
        return ids

    def running(self, job_id: str) -> bool:
        task = self._tasks.get(job_id)
        return task is not None and not task.done()

    @property
    def held(self) -> set[str]:
        """The jobs this gateway is running."""
        return {i for i, t in self._tasks.items() if not t.done()}

    def drop(self, job_ids: set[str]) -> None:
        """Stop working on jobs another gateway holds now (this one lost their leases)."""
        for job_id in job_ids:
            if self.running(job_id):
                log.warning("%s %s: another gateway holds it now; stopping here", self.KIND, job_id)
                self._tasks[job_id].cancel()


def takeover_bound(lease_seconds: float) -> float:
    """The longest a killed gateway's job waits for another to take it over: its lease
    runs out, then at most one pass (`LeaseKeeper.interval`, a third of the lease)."""
    return lease_seconds + lease_seconds / 3


class LeaseKeeper:
    def __init__(self, lease: Lease, runners: list[Leasing]) -> None:
        self.lease = lease
        self.runners = runners
        self.interval = lease.seconds / 3
        self.taken_over = 0  # jobs and streams claimed from gateways that stopped renewing

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.pass_once()
            except Exception as exc:  # the database may be away a moment: the next pass tries again
                log.warning("job leases: %s", exc)

    async def pass_once(self) -> list[str]:
        """Renew, drop what is lost, take over what is free; the ids taken over."""
        taken: list[str] = []
        for runner in self.runners:
            running = runner.held
            held = await asyncio.to_thread(runner.leases.renew, self.lease)
            lost = running - held
            if lost:
                runner.drop(lost)
            claimed = await asyncio.to_thread(runner.claim)
            if claimed:
                log.info("taking over %d job(s): %s", len(claimed), ", ".join(claimed))
                runner.take(claimed)
                taken += claimed
        self.taken_over += len(taken)
        return taken

    def release(self) -> None:
        """A clean stop: the jobs this gateway held may be taken over at once (blocking)."""
        for runner in self.runners:
            runner.leases.release(self.lease)
