"""What the gateway checks of work before it keeps it (and before a client sees it).

Pure parts first, then the one checker of transcoded segments that video-on-demand
jobs and live streams share.

- **Provenance** (cheap, always): every output carries a C2PA manifest, intact, for
  this job, naming the orchestrator that did the work (and was paid), with the source
  the gateway sent as its ingredient. With trust anchors, its signer must chain to one.
- **Media** (a third of the transcode's cost, so sampled, as Livepeer's gateway does):
  every segment from an orchestrator until it has `first` checked successes to its
  name, then a random `fraction`: each rendition is decoded and compared with the
  source (size, duration, frames, picture). A cheater is caught on its first segments
  or, later, on a random one; either way it loses the segment and is banned.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from framemesh.gateway.errors import PeerFailed
from framemesh.media.check import check_renditions
from framemesh.media.profiles import RenditionSpec
from framemesh.provenance.verify import Verdict, read_provenance
from framemesh.wire.bundle import sha256_file
from framemesh.wire.orchestrator import RenditionResult

# Runs a blocking function in the gateway's worker processes.
InPool = Callable[..., Awaitable[Any]]


def provenance_problem(
    verdict: Verdict,
    *,
    job_id: str,
    expected_address: str | None,
    source_sha256: str | None,
    strict_trust: bool,
) -> str | None:
    """Why this rendition's provenance is not acceptable; None when it is."""
    if verdict.status == "untrusted":
        if strict_trust:
            return "its manifest is signed by a certificate that no trust anchor of this gateway vouches for"
    elif verdict.status != "valid":
        why = "; ".join(verdict.problems[:2]) or verdict.status
        return f"its provenance is {verdict.status}: {why}"
    active = verdict.active
    if active is None:
        return "it carries no manifest"
    if active.job_id != job_id:
        return f"its manifest is for job {active.job_id!r}, not {job_id!r}"
    if expected_address is not None and (verdict.address or "").lower() != expected_address.lower():
        return f"its manifest names orchestrator {verdict.address}, but {expected_address} did the work"
    if source_sha256 is not None and source_sha256 not in active.ingredient_sha256:
        return "its manifest does not name the segment it was made from as its source"
    return None


def should_check(checked_successes: int, rng: random.Random, *, first: int, fraction: float) -> bool:
    if checked_successes < first or fraction >= 1.0:
        return True
    return rng.random() < fraction


class SegmentChecks:
    """Checks transcoded renditions of one source segment; raises PeerFailed("bad_result")."""

    def __init__(
        self, in_pool: InPool, *, trust_anchors: list[str], rng: random.Random, first: int, fraction: float
    ) -> None:
        self.in_pool = in_pool
        self.trust_anchors = trust_anchors
        self.rng = rng
        self.first = first
        self.fraction = fraction
        self.checked_successes: dict[str, int] = {}  # per orchestrator: fully checked and good

    async def check(
        self, url: str, source: Path, job_id: str, address: str | None, plan: Sequence[RenditionSpec],
        renditions: Sequence[RenditionResult], files: dict[str, Path],
    ) -> None:
        """`renditions` (their files in `files`) made by `url` from `source` for `job_id`:
        the ones asked for, each signed by `address` with `source` as its ingredient, and
        on a sample, the source at each rendition's size."""
        by_name = {r.name: r for r in renditions}
        wanted = {s.name for s in plan}
        if set(by_name) != wanted:
            raise PeerFailed(url, "bad_result", f"returned renditions {sorted(by_name)}, asked for {sorted(wanted)}")
        checked = self.checked_successes.get(url, 0)
        full = should_check(checked, self.rng, first=self.first, fraction=self.fraction)
        if full:
            pairs = [(files[by_name[spec.name].file], spec) for spec in plan]
            reports = await self.in_pool(check_renditions, source, pairs)
            for spec, report in zip(plan, reports):
                if not report.ok:
                    raise PeerFailed(url, "bad_result", f"{spec.name} failed the check: {'; '.join(report.problems)}")
        anchors = self.trust_anchors
        source_sha = await asyncio.to_thread(sha256_file, source)
        for spec in plan:
            verdict = await self.in_pool(read_provenance, files[by_name[spec.name].file], trust_anchors=anchors or None)
            problem = provenance_problem(
                verdict, job_id=job_id, expected_address=address, source_sha256=source_sha, strict_trust=bool(anchors),
            )
            if problem:
                raise PeerFailed(url, "bad_result", f"{spec.name} failed the provenance check: {problem}")
        if full:
            self.checked_successes[url] = checked + 1
