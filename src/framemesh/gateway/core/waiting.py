"""Work waiting for a free orchestrator: first come, first served, fair across API keys.

When every orchestrator that could take a request is busy, the request does not get
a 503 at once: it joins the line and is woken, in turn, the moment work this gateway
sent finishes (`wake`), or when a busy orchestrator's Retry-After runs out. Each key
has its own queue and the keys take turns, so one client's burst does not hold the
others back. Past the line's length (`limit`) or a request's deadline the caller
says 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class LineFull(Exception):
    """More requests wait than the line holds."""


class WaitedTooLong(Exception):
    """No orchestrator came free before the request's deadline."""


class WaitLine:
    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self._lines: dict[str, deque[asyncio.Future[None]]] = {}
        self._turns: deque[str] = deque()  # keys with someone waiting, in turn order
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return sum(len(line) for line in self._lines.values())

    async def serve(self, key: str, deadline: float, attempt: Callable[[], Awaitable[T | None]]) -> T:
        """`attempt()` until it gives a result (None: every orchestrator is busy now),
        waiting in line between tries. Raises LineFull, WaitedTooLong."""
        if not self.waiting:
            result = await attempt()
            if result is not None:
                return result
        if self.waiting >= self.limit:
            raise LineFull(f"{self.waiting} requests are already waiting for an orchestrator")
        front = False  # a request that was woken and is still unserved keeps its place
        while True:
            turn = self._join(key, front)
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                await asyncio.wait_for(asyncio.shield(turn), left)
            except TimeoutError:
                self._leave(key, turn)
                raise WaitedTooLong("no orchestrator came free in time") from None
            except BaseException:
                self._leave(key, turn)
                raise
            result = await attempt()
            if result is not None:
                self.wake()  # there may be room for the next one too
                return result
            front = True

    def wake(self) -> None:
        """A slot may have come free: let the next in turn try."""
        while self._turns:
            key = self._turns.popleft()
            line = self._lines.get(key)
            if not line:
                self._lines.pop(key, None)
                continue
            turn = line.popleft()
            if line:
                self._turns.append(key)
            else:
                del self._lines[key]
            if not turn.done():
                turn.set_result(None)
                return

    def wake_after(self, seconds: float) -> None:
        """Wake the next in line after `seconds` (a busy orchestrator's Retry-After),
        unless a wake-up is already due sooner."""
        loop = asyncio.get_running_loop()
        when = loop.time() + max(0.0, seconds)
        if self._timer is not None and not self._timer.cancelled() and self._timer.when() <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(when, self._timer_fired)

    def _timer_fired(self) -> None:
        self._timer = None
        self.wake()

    def _join(self, key: str, front: bool) -> asyncio.Future[None]:
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        line = self._lines.setdefault(key, deque())
        if not line and key not in self._turns:
            if front:
                self._turns.appendleft(key)
            else:
                self._turns.append(key)
        if front:
            line.appendleft(turn)
        else:
            line.append(turn)
        return turn

    def _leave(self, key: str, turn: asyncio.Future[None]) -> None:
        line = self._lines.get(key)
        if line is not None and turn in line:
            line.remove(turn)
            if not line:
                del self._lines[key]
                if key in self._turns:
                    self._turns.remove(key)
        elif turn.done() and not turn.cancelled():
            self.wake()  # it was woken as it gave up: pass the turn on
