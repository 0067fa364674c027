"""A live AI stream's segments through the network: who processes the next one, what it
is paid, and whether the answer is what was asked.

The orchestrator runs `live-video-to-video` in a warm worker (see `framemesh.ai.live_video`);
each segment goes with the settings in effect when it is sent, so a new orchestrator
after a swap gets the latest ones with its first segment (nothing to re-send apart).

Payment is by time, as Livepeer meters live AI: a segment costs its seconds at a fixed
pixel rate (`framemesh.ai.units.live_units`) times the orchestrator's price per unit,
charged by the orchestrator when it delivers. Tickets are sent ahead of the work: the
first payment to an orchestrator buys `PAY_BUFFER` seconds, and then a payment goes
with the segment that would run the credit out, buying `PAY_INTERVAL` seconds more; an
orchestrator whose output stops gets no more segments, so no more payments. An
orchestrator that is not paid stops: it answers 402 once the credit is spent.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framemesh.ai.units import live_units
from framemesh.gateway.core.checks import provenance_problem
from framemesh.gateway.core.payer import pay_and_call
from framemesh.gateway.core.scores import Work
from framemesh.gateway.errors import PeerFailed
from framemesh.media.profiles import RenditionSpec
from framemesh.wire.ai import AIResult
from framemesh.wire.live import LIVE_AI_PIPELINE

PAY_BUFFER = 10.0  # seconds bought with the first payment to an orchestrator
PAY_INTERVAL = 5.0  # then seconds bought each time the credit runs short
BUDGET_SHARE = 0.5  # of a segment's duration, the model's time budget (decode, encode, transfer: the rest)
MAX_FPS = 24.0  # frames a second the model is given at most (Livepeer caps live AI input at 24)
OUTPUT = "ai"  # the one rendition of a live AI stream


@dataclass
class Answer:
    """A processed segment, checked."""

    file: Path
    spec: RenditionSpec
    info: dict[str, Any]
    seconds: float
    price: int


@dataclass
class LiveAIWork:
    """One stream's live AI: its model, and what it has paid whom."""

    stream_id: str
    model_id: str
    paid: set[str] = field(default_factory=set)  # orchestrators sent a first payment (the buffer)
    prices: dict[str, int] = field(default_factory=dict)  # price per unit each was chosen at

    @property
    def work(self) -> Work:
        """What its segments are scored as."""
        return Work.ai(LIVE_AI_PIPELINE, self.model_id)

    def choose(self, dispatcher: Any, pool: Any, exclude: set[str], keep: str | None) -> str | None:
        """The orchestrator for the next segment: `keep` while it may, else the best other
        that serves the model and has a free slot; None when none can now."""
        ranked, _ = dispatcher.directory.rank(
            LIVE_AI_PIPELINE, self.model_id, pool, time.monotonic(), dispatcher.max_price, dispatcher.is_full
        )
        usable = {url: price for url, price in ranked if url not in exclude}
        if not usable:
            return None
        url = keep if keep in usable else next(iter(usable))
        self.prices[url] = usable[url]
        return url

    def price(self, url: str, duration: float, paying: bool) -> int:
        return self.prices.get(url, 0) * live_units(duration) if paying else 0

    async def run(
        self, parts: Any, url: str, *, seq: int, source: Path, duration: float, params: dict[str, Any],
        incoming: Path, timeout: float, address: str | None,
    ) -> Answer:
        """Send one segment and check the answer. Raises PeerFailed (bad_result for an answer
        that is not what was asked), PeerBusy, PeerRefused (the settings were refused)."""
        dispatcher = parts.ai
        slot = (url, LIVE_AI_PIPELINE, self.model_id)
        duration = round(duration, 3)  # both sides price the same number
        paying = parts.payer is not None
        price = self.price(url, duration, paying)
        per_unit = self.prices.get(url, 0)
        ahead = per_unit * live_units(PAY_INTERVAL if url in self.paid else PAY_BUFFER) if paying else 0
        fields = {
            "model_id": self.model_id, "stream_id": self.stream_id, "seq": seq, "params": params,
            "duration": duration, "budget": round(BUDGET_SHARE * duration, 3), "max_fps": MAX_FPS,
        }
        job_id = f"{self.stream_id}-{seq}"
        started = time.perf_counter()
        dispatcher.take(slot)  # before any await: the slot is this segment's from its choice on
        try:
            video = await asyncio.to_thread(source.read_bytes)
            result, files = await pay_and_call(
                parts.payer, url, price,
                lambda payment: parts.client.run_ai(
                    url, LIVE_AI_PIPELINE, fields, {"video": video}, job_id=job_id, dest_dir=incoming,
                    timeout=timeout, payment=payment,
                ),
                ahead=ahead,
            )
        finally:
            dispatcher.give_back(slot)
        seconds = time.perf_counter() - started
        if paying:
            self.paid.add(url)
        file = await self.check(parts, url, result, files, job_id, video, params, address)
        info = dict(result.info)
        width, height = int(info.get("width", 0) or 0), int(info.get("height", 0) or 0)
        fps = max(1, min(30, round(float(info.get("fps_in", 30) or 30))))
        spec = RenditionSpec(OUTPUT, width, height, max(100_000, int(width * height * fps * 0.1)), 96_000, fps)
        return Answer(file, spec, info, seconds, price)

    async def check(
        self, parts: Any, url: str, result: AIResult, files: dict[str, Path], job_id: str, video: bytes,
        params: dict[str, Any], address: str | None,
    ) -> Path:
        """The processed segment, once its answer and its manifest are what was asked:
        this model, these settings, this segment as the ingredient, this orchestrator."""
        from framemesh.provenance.verify import read_provenance

        if (result.pipeline, result.model_id, result.job_id) != (LIVE_AI_PIPELINE, self.model_id, job_id):
            raise PeerFailed(url, "bad_result", f"answered for {result.pipeline} {result.model_id!r} job {result.job_id}")
        if len(result.outputs) != 1 or result.outputs[0].kind != "video":
            raise PeerFailed(url, "bad_result", f"returned {len(result.outputs)} outputs, not one video segment")
        file = files[result.outputs[0].file]
        anchors = parts.checks.trust_anchors
        verdict = await asyncio.to_thread(read_provenance, file, trust_anchors=anchors or None)
        problem = provenance_problem(
            verdict, job_id=job_id, expected_address=address, source_sha256=hashlib.sha256(video).hexdigest(),
            strict_trust=bool(anchors),
        )
        active = verdict.active
        if problem is None and active is not None and (active.pipeline, active.model) != (LIVE_AI_PIPELINE, self.model_id):
            problem = f"its manifest names {active.pipeline} {active.model!r}"
        if problem is None and active is not None and active.parameters != params:
            problem = "its manifest does not state the settings it was sent"
        if problem is not None:
            raise PeerFailed(url, "bad_result", f"the processed segment failed the provenance check: {problem}")
        return file
