"""Room per model: how many AI jobs each model holds, running or queued.

A slot is taken in one step (the check and the count together, with no `await` in
between), when the job is admitted and before its payment is taken, so requests that
arrive together can never overshoot a model's queue. It is given back once, whichever
comes first: the end of the work, or a failure on the way to it.
"""

from __future__ import annotations

from collections.abc import Hashable

from framemesh.net.api_errors import ApiError


class ModelSlots:
    def __init__(self) -> None:
        self.held: dict[Hashable, int] = {}

    def take(self, key: Hashable, limit: int, what: str) -> Slot:
        """A slot of `key`'s `limit`, or 503 busy (with Retry-After) when none is free."""
        if self.held.get(key, 0) >= limit:
            raise ApiError(503, "busy", f"{what} is at capacity; retry later", headers={"Retry-After": "1"})
        self.held[key] = self.held.get(key, 0) + 1
        return Slot(self, key)

    def __getitem__(self, key: Hashable) -> int:
        return self.held.get(key, 0)


class Slot:
    def __init__(self, slots: ModelSlots, key: Hashable) -> None:
        self._slots = slots
        self.key = key
        self.open = True

    def release(self) -> None:
        """Give the slot back; a second call does nothing."""
        if self.open:
            self.open = False
            self._slots.held[self.key] -= 1
