"""Compute by complexity: how many denoising steps a prompt deserves, when the
request leaves the choice to the network (`num_inference_steps=None`).

A short, plain prompt ("a cat") converges in few steps; a long prompt with many
distinct details, clauses, counts and styles needs more. Pure and deterministic, so
the gateway can quote the same price the orchestrator will charge.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9']+")
_STOP = frozenset(
    "a an the of and or with in on at to for by from is are it its this that as into".split()
)


def prompt_complexity(prompt: str) -> float:
    """0.0 (trivial) .. 1.0 (dense): distinct content words, clauses and numbers."""
    words = _WORD.findall(prompt.lower())
    content = {w for w in words if w not in _STOP}
    clauses = prompt.count(",") + prompt.count(";") + prompt.count(".") + prompt.count("(")
    numbers = sum(w.isdigit() for w in words)
    score = len(content) / 24 + clauses / 10 + numbers / 6
    return min(1.0, score)


def choose_steps(prompt: str, lo: int, hi: int) -> int:
    """Steps in [lo, hi], rising with the prompt's complexity."""
    if not 1 <= lo <= hi:
        raise ValueError(f"need 1 <= lo <= hi, got {lo}, {hi}")
    return lo + round(prompt_complexity(prompt) * (hi - lo))
