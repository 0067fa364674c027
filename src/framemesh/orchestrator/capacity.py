"""How many jobs an orchestrator runs at once.

Past its capacity an orchestrator says "busy" at once (503 + Retry-After) instead of
queueing: a queue hides overload from the gateway, which could have sent the work to
an idle orchestrator instead.
"""

from __future__ import annotations

import threading


class CapacityLimiter:
    """A non-blocking counting semaphore that also reports its load."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._load = 0
        self._lock = threading.Lock()

    @property
    def load(self) -> int:
        return self._load

    def try_acquire(self) -> bool:
        with self._lock:
            if self._load >= self.capacity:
                return False
            self._load += 1
            return True

    def release(self) -> None:
        with self._lock:
            if self._load == 0:
                raise RuntimeError("release() without a matching try_acquire()")
            self._load -= 1
