"""Which results the gateway checks in full. Pure: randomness is passed in.

Decoding the source and every rendition again costs the gateway about a third of
what the transcode cost the orchestrator, so, as Livepeer's gateway does, it checks
a sample: every segment from an orchestrator until it has `first` checked successes
to its name, then a random `fraction` of them. A cheater is caught on its first
segments (a new orchestrator is always checked) or, later, on a random one; either
way it loses the segment, is banned, and gets no more work. Provenance (the C2PA
manifest: intact, for this job, from this orchestrator) is cheap and always checked.
"""

from __future__ import annotations

import random


def should_check(checked_successes: int, rng: random.Random, *, first: int, fraction: float) -> bool:
    if checked_successes < first or fraction >= 1.0:
        return True
    return rng.random() < fraction
