"""Waiting on a job ends in every state a job can end in, cancelled included."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from framemesh.sdk import client as sdk
from framemesh.wire.states import AIJobState, JobState


@pytest.mark.parametrize("ended", sorted({s.value for s in (*JobState, *AIJobState) if s.terminal}))
async def test_a_wait_ends_when_the_job_ends(ended: str) -> None:
    states = iter(["queued", "running", ended, "never read"])
    seen: list[str] = []

    async def fetch() -> SimpleNamespace:
        return SimpleNamespace(state=next(states))

    status = await sdk._poll(fetch, lambda s: seen.append(s.state), interval=0.0, timeout=5.0)  # type: ignore[arg-type]
    assert status.state == ended
    assert seen == ["queued", "running", ended]


async def test_a_wait_goes_on_while_the_job_runs() -> None:
    async def fetch() -> SimpleNamespace:
        return SimpleNamespace(state="running")

    with pytest.raises(TimeoutError):
        await sdk._poll(fetch, None, interval=0.01, timeout=0.2)  # type: ignore[arg-type]
