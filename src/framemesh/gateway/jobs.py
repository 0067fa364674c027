"""The lifecycle of a transcoding job and of its segments, as explicit transition tables.

No I/O here: the store persists states, the runner drives them, and both ask this
module whether a move is allowed, so a bug shows up as an error rather than as a
job that silently goes back in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from framemesh.wire.states import JobState, WorkState


E = TypeVar("E", bound=Enum)


# A segment is one kind of work sent to one orchestrator at a time.
SegmentState = WorkState


_JOB_MOVES: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.SEGMENTING, JobState.FAILED}),
    # A restarted gateway re-enters the state it was in, hence the self-loops.
    JobState.SEGMENTING: frozenset({JobState.SEGMENTING, JobState.TRANSCODING, JobState.FAILED}),
    JobState.TRANSCODING: frozenset({JobState.TRANSCODING, JobState.ASSEMBLING, JobState.FAILED}),
    JobState.ASSEMBLING: frozenset({JobState.ASSEMBLING, JobState.COMPLETED, JobState.FAILED}),
    JobState.COMPLETED: frozenset(),
    JobState.FAILED: frozenset(),
}

# Segments and stages alike: back to pending when the orchestrator fails or the
# gateway restarts (it goes to another one, or runs again); done is final, a piece of
# work is delivered once.
WORK_MOVES: dict[WorkState, frozenset[WorkState]] = {
    WorkState.PENDING: frozenset({WorkState.RUNNING, WorkState.FAILED}),
    WorkState.RUNNING: frozenset({WorkState.PENDING, WorkState.DONE, WorkState.FAILED}),
    WorkState.DONE: frozenset(),
    WorkState.FAILED: frozenset(),
}


class IllegalTransition(Exception):
    def __init__(self, what: str, old: Enum, new: Enum) -> None:
        super().__init__(f"{what} cannot go from {old.value} to {new.value}")


def check_move(moves: Mapping[E, frozenset[E]], what: str, old: E, new: E) -> None:
    """Raise IllegalTransition unless `moves` lets `what` go from `old` to `new`."""
    if new not in moves[old]:
        raise IllegalTransition(what, old, new)


def check_job_move(old: JobState, new: JobState) -> None:
    check_move(_JOB_MOVES, "a job", old, new)


def check_segment_move(old: SegmentState, new: SegmentState) -> None:
    check_move(WORK_MOVES, "a segment", old, new)


def progress(done: int, total: int) -> float:
    """Fraction of the job done, 0..1; segmenting counts as nothing done."""
    if total <= 0:
        return 0.0
    return min(1.0, max(0.0, done / total))
