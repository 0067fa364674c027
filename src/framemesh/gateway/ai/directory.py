"""Which orchestrator gets an AI job. Pure: no I/O, randomness passed in.

`AIDirectory` keeps what each orchestrator's /info advertises (`Capabilities.ai`) and
ranks who may take a job: it serves that pipeline and model, asks no more than the max
price, and is not avoided after a recent failure; then warm before cold, free before
busy, cheaper before dearer, and among equals an order drawn by `selection` weights
(stake, and the orchestrator's performance score for that pipeline and model).
`request_parts` and `expected_outputs` say what a request sends and should get back.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.scores import Work
from framemesh.gateway.core.selection import Candidate, order
from framemesh.wire.ai import AICapability


# Why none can take it now, when that will pass: they are busy or just failed.
BUSY_NOW = "every orchestrator serving it is busy or failed a moment ago"


@dataclass
class AIDirectory:
    """Who serves which pipeline and model, at what price. Pure: no I/O."""

    caps: dict[str, list[AICapability]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    def update(self, url: str, caps: list[AICapability]) -> None:
        self.caps[url] = list(caps)

    def forget(self, url: str) -> None:
        self.caps.pop(url, None)

    def offers(self) -> list[dict[str, str]]:
        """Every (pipeline, model_id) some orchestrator serves, sorted."""
        seen = {(c.pipeline, c.model_id) for caps in self.caps.values() for c in caps}
        return [{"pipeline": p, "model_id": m} for p, m in sorted(seen)]

    def default_model(self, pipeline: str) -> str | None:
        """The model to use when a client sends no model_id: the one most orchestrators serve warm."""
        counts: dict[str, tuple[int, int]] = {}
        for caps in self.caps.values():
            for c in caps:
                if c.pipeline == pipeline:
                    warm, total = counts.get(c.model_id, (0, 0))
                    counts[c.model_id] = (warm + c.warm, total + 1)
        if not counts:
            return None
        return max(sorted(counts), key=lambda m: counts[m])

    def default_frames(self, pipeline: str, model_id: str) -> int | None:
        """The frames the orchestrators serving an image-to-video model make by default
        (the value most of them advertise)."""
        seen = [c.default_frames for caps in self.caps.values() for c in caps
                if (c.pipeline, c.model_id) == (pipeline, model_id) and c.default_frames]
        return max(sorted(set(seen)), key=seen.count) if seen else None

    def rank(
        self, pipeline: str, model_id: str, pool: OrchestratorPool, now: float, max_price: int | None,
        full: Callable[[str, AICapability], bool] = lambda url, cap: False,
    ) -> tuple[list[tuple[str, int]], str | None]:
        """(url, price per unit) of the orchestrators to try, best first, and why none if
        empty. `full(url, capability)`: the gateway knows every slot of it is taken now."""
        serving = [
            (url, c) for url, caps in self.caps.items() for c in caps if (c.pipeline, c.model_id) == (pipeline, model_id)
        ]
        if not serving:
            return [], None
        affordable = [(u, c) for u, c in serving if max_price is None or c.price_per_unit <= max_price]
        if not affordable:
            cheapest = min(c.price_per_unit for _, c in serving)
            return [], f"every orchestrator asks more than the max price {max_price} wei/unit (cheapest: {cheapest})"
        usable = []
        for url, c in affordable:
            member = pool.members.get(url)
            if (member is not None and member.avoid_until > now) or full(url, c):
                continue
            usable.append((url, c, member))
        if not usable:
            return [], BUSY_NOW
        work = Work.ai(pipeline, model_id)
        k = pool.scores.k(work, now)
        # A client's price caps are per request, and the cheaper is tried first as it
        # always was: the scores weigh the order among orchestrators at the same price.
        tiers: dict[tuple[bool, bool, int], list[Any]] = {}
        for url, c, member in usable:
            tiers.setdefault((not c.warm, c.in_use >= c.capacity, c.price_per_unit), []).append((url, c, member))
        ranked = []
        for tier in sorted(tiers):
            prices = {url: c.price_per_unit for url, c, _ in tiers[tier]}
            candidates = [
                pool.candidate(member, work, now, price=c.price_per_unit, k=k) if member is not None
                else Candidate(url, price_per_pixel=c.price_per_unit)
                for url, c, member in tiers[tier]
            ]
            # Their own slots are the tier's business (free before busy): weigh the rest.
            candidates = [dataclasses.replace(cand, in_flight=0, capacity=1) for cand in candidates]
            ranked += [(url, prices[url]) for url in order(candidates, self.rng)]
        return ranked, None


def request_parts(request: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A `framemesh.ai` request as the orchestrator's wire takes it: JSON fields and files."""
    fields, files = {}, {}
    for f in dataclasses.fields(request):
        value = getattr(request, f.name)
        if isinstance(value, bytes):
            if value:  # an input left empty (upscale's image when it has a video) is not sent
                files[f.name] = value
        else:
            fields[f.name] = value
    return fields, files


def expected_outputs(pipeline: str, request: Any) -> int | None:
    """How many output files a result of `request` has (None: no files, e.g. audio-to-text)."""
    if pipeline in ("text-to-image", "image-to-image"):
        return int(request.num_images_per_prompt)
    if pipeline == "image-to-video":
        return int(request.num_videos)
    if pipeline in ("upscale", "text-to-speech", "mux"):
        return 1
    return None
