"""The states a gateway reports for its work, as the API and the SDK spell them.

One enum per kind of record; which states are terminal is said once, here, and every
other place (the stores' SQL, the SDK's wait, the CLI) asks these enums. Which moves
between states are allowed is the gateway's business (`framemesh.gateway.vod.jobs`).
"""

from __future__ import annotations

from enum import Enum


class JobState(str, Enum):
    """A video-on-demand transcoding job."""

    QUEUED = "queued"  # accepted, source stored, nothing done yet
    SEGMENTING = "segmenting"
    TRANSCODING = "transcoding"
    ASSEMBLING = "assembling"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED)


class AIJobState(str, Enum):
    """An AI job: one Livepeer API request, or a staged job."""

    QUEUED = "queued"  # accepted and committed, no stage started yet
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"  # by its client (DELETE /ai/jobs/{id})

    @property
    def terminal(self) -> bool:
        return self in (AIJobState.COMPLETED, AIJobState.FAILED, AIJobState.CANCELLED)


class StreamState(str, Enum):
    """A live stream."""

    IDLE = "idle"  # created, or its encoder went away: it may (re)connect until the idle timeout
    LIVE = "live"  # media is coming in
    ENDED = "ended"  # by its client, or idle too long; its recording (if any) is written
    FAILED = "failed"  # its input could not be used; the reason says why

    @property
    def terminal(self) -> bool:
        return self in (StreamState.ENDED, StreamState.FAILED)


class WorkState(str, Enum):
    """A piece of a job sent to one orchestrator at a time: a segment, a stage."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (WorkState.DONE, WorkState.FAILED)


def terminal_values(*enums: type[JobState] | type[AIJobState] | type[StreamState] | type[WorkState]) -> frozenset[str]:
    """The wire spelling of every terminal state of these enums."""
    return frozenset(state.value for enum in enums for state in enum if state.terminal)
