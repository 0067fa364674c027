"""The lifecycle of a transcoding job and of its segments, as explicit transition tables.

No I/O here: the store persists states, the runner drives them, and both ask this
module whether a move is allowed, so a bug shows up as an error rather than as a
job that silently goes back in time.
"""

from __future__ import annotations

from framemesh.gateway.core.states import WORK_MOVES, check_move
from framemesh.wire.states import JobState, WorkState

# A segment is one kind of work sent to one orchestrator at a time.
SegmentState = WorkState

_JOB_MOVES: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.SEGMENTING, JobState.FAILED}),
    # A restarted gateway re-enters the state it was in, hence the self-loops; one that
    # takes a job over and cannot read its first gateway's working files cuts it again
    # from its source, hence back to segmenting.
    JobState.SEGMENTING: frozenset({JobState.SEGMENTING, JobState.TRANSCODING, JobState.FAILED}),
    JobState.TRANSCODING: frozenset({JobState.TRANSCODING, JobState.ASSEMBLING, JobState.SEGMENTING, JobState.FAILED}),
    JobState.ASSEMBLING: frozenset({JobState.ASSEMBLING, JobState.COMPLETED, JobState.SEGMENTING, JobState.FAILED}),
    JobState.COMPLETED: frozenset(),
    JobState.FAILED: frozenset(),
}


def check_job_move(old: JobState, new: JobState) -> None:
    check_move(_JOB_MOVES, "a job", old, new)


def check_segment_move(old: WorkState, new: WorkState) -> None:
    check_move(WORK_MOVES, "a segment", old, new)


def progress(done: int, total: int) -> float:
    """Fraction of the job done, 0..1; segmenting counts as nothing done."""
    if total <= 0:
        return 0.0
    return min(1.0, max(0.0, done / total))
