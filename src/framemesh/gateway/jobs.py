"""The lifecycle of a transcoding job and of its segments, as explicit transition tables.

No I/O here: the store persists states, the runner drives them, and both ask this
module whether a move is allowed, so a bug shows up as an error rather than as a
job that silently goes back in time.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar


E = TypeVar("E", bound=Enum)


class JobState(str, Enum):
    QUEUED = "queued"  # accepted, source stored, nothing done yet
    SEGMENTING = "segmenting"
    TRANSCODING = "transcoding"
    ASSEMBLING = "assembling"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED)


class SegmentState(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


_JOB_MOVES: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.SEGMENTING, JobState.FAILED}),
    # A restarted gateway re-enters the state it was in, hence the self-loops.
    JobState.SEGMENTING: frozenset({JobState.SEGMENTING, JobState.TRANSCODING, JobState.FAILED}),
    JobState.TRANSCODING: frozenset({JobState.TRANSCODING, JobState.ASSEMBLING, JobState.FAILED}),
    JobState.ASSEMBLING: frozenset({JobState.ASSEMBLING, JobState.COMPLETED, JobState.FAILED}),
    JobState.COMPLETED: frozenset(),
    JobState.FAILED: frozenset(),
}

_SEGMENT_MOVES: dict[SegmentState, frozenset[SegmentState]] = {
    SegmentState.PENDING: frozenset({SegmentState.RUNNING, SegmentState.FAILED}),
    # Back to pending when its orchestrator fails: the segment goes to another one.
    SegmentState.RUNNING: frozenset({SegmentState.PENDING, SegmentState.DONE, SegmentState.FAILED}),
    # Done is final: a segment is delivered once.
    SegmentState.DONE: frozenset(),
    SegmentState.FAILED: frozenset(),
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
    check_move(_SEGMENT_MOVES, "a segment", old, new)


def progress(done: int, total: int) -> float:
    """Fraction of the job done, 0..1; segmenting counts as nothing done."""
    if total <= 0:
        return 0.0
    return min(1.0, max(0.0, done / total))
