"""States and the moves between them, shared by every kind of work the gateway does.

No I/O: a store asks `check_move` before it writes a new state, so a bug shows up as
an `IllegalTransition` rather than as a record that silently goes back in time. The
public state enums live in `framemesh.wire.states`; each kind of work keeps its own
job table (`vod.jobs`, `ai.jobs`, `live.streams`) and shares `WORK_MOVES` for the
pieces it sends to orchestrators (segments, stages).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

from framemesh.wire.states import WorkState

E = TypeVar("E", bound=Enum)

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
