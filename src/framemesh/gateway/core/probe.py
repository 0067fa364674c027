"""Test jobs: keep every orchestrator's transcoding score fresh while the gateway is idle.

Opt-in (`--probe-interval SECONDS`, off by default). Every interval, each orchestrator
that is known, free, not avoided, and has had no transcoding result for an interval is
sent one tiny segment (`PROBE_SECONDS` of 240p video made once with
`media.testclip`), paid and checked like real work, and its result counts in its
score like any other segment's. An orchestrator that is kept busy by real work is
never probed; neither is one that failed a moment ago (it is avoided: the back-off
decides when it is tried again).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framemesh.gateway.core.payer import pay_and_call
from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.scores import TRANSCODING
from framemesh.gateway.errors import PeerBusy, PeerFailed
from framemesh.media.plan import plan_file
from framemesh.media.profiles import RenditionSpec
from framemesh.media.testclip import make_test_clip
from framemesh.payments.pricing import transcode_price

log = logging.getLogger("framemesh.gateway")

PROBE_SECONDS = 1.0
PROBE_PROFILE = "240p"


@dataclass
class Prober:
    pool: OrchestratorPool
    client: Any  # core.peer.OrchestratorClient
    payer: Any  # core.payer.GatewayPayer, or None off-chain
    checks: Any  # core.checks.SegmentChecks
    work_dir: Path
    interval: float
    on_free: Callable[[], None] = lambda: None  # a slot it held is free again (work waiting in line may take it)
    sent: int = 0
    _clip: tuple[Path, tuple[RenditionSpec, ...], float] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise ValueError("interval: must be positive")

    def due(self, now: float) -> list[str]:
        """The orchestrators to test now: free, and no transcoding result for an interval."""
        out = []
        for url, member in list(self.pool.members.items()):
            if not member.known or member.in_flight or not member.available(now):
                continue
            recent = self.pool.scores.recent(url, TRANSCODING, now)
            if not recent or recent[-1].at <= now - self.interval:
                out.append(url)
        return out

    async def clip(self) -> tuple[Path, tuple[RenditionSpec, ...], float]:
        """The test segment (made once), its rendition plan and duration."""
        if self._clip is None:
            path = self.work_dir / "probe" / "segment.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                await asyncio.to_thread(make_test_clip, path, duration=PROBE_SECONDS, width=426, height=240, fps=24,
                                        keyframe_interval=None, audio=False)
            plan, duration = await asyncio.to_thread(plan_file, path, (PROBE_PROFILE,))
            self._clip = (path, plan, duration)
        return self._clip

    async def probe(self, url: str) -> bool | None:
        """Send `url` one test segment; True when it did it, False when it failed, None
        when it could not be sent (taken meanwhile, or it said it is busy)."""
        if not self.pool.reserve(url, time.monotonic()):
            return None
        segment, plan, duration = await self.clip()
        work = self.work_dir / "probe" / os.urandom(4).hex()
        job_id = f"probe-{os.urandom(6).hex()}"
        holding = True
        try:
            member = self.pool.members[url]
            price = transcode_price(member.price_per_pixel, plan, duration) if self.payer is not None else 0
            self.sent += 1
            result, files, seconds = await pay_and_call(
                self.payer, url, price,
                lambda payment: self.client.transcode(
                    url, segment, tuple(s.name for s in plan), job_id=job_id, index=0, dest_dir=work,
                    duration=duration if self.payer is not None else None, payment=payment,
                ),
            )
            self.pool.release(url)
            holding = False
            self.on_free()
            await self.checks.check(url, segment, job_id, member.address, plan, result.renditions, files)
            self.pool.succeeded(url, seconds, time.monotonic(), duration=duration)
            return True
        except PeerBusy as exc:
            self.pool.busy(url, time.monotonic(), exc.retry_after)
            return None
        except PeerFailed as exc:
            self.pool.failure(url, time.monotonic(), bad_result=exc.kind == "bad_result")
            log.warning("test job: %s", exc)
            return False
        finally:
            if holding:
                self.pool.release(url)
                self.on_free()
            await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.gather(*(self.probe(url) for url in self.due(time.monotonic())))
            except Exception:  # a bug in a test job must not stop the next ones
                log.exception("test jobs")
