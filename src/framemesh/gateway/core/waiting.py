"""Work waiting for a free orchestrator: first come, first served, fair across API keys.

When every orchestrator that could take a request is busy, the request does not get
a 503 at once: it joins the line and is woken, in turn, the moment work this gateway
sent finishes (`wake`), or when a busy orchestrator's Retry-After runs out. Each key
has its own queue and the keys take turns, so one client's burst does not hold the
others back. Past the line's length (`limit`) or a request's deadline the caller
says 503 with Retry-After.

One line serves every kind of work (AI requests and stages, /llm, transcode and live
segments), and not every waiter can use every slot (another model, another kind of
work): one woken that finds nothing for it passes its turn on to the next, so a freed
slot never sits idle behind a request that cannot use it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class LineFull(Exception):
    """More requests wait than the line holds."""


class WaitedTooLong(Exception):
    """No orchestrator came free before the request's deadline."""


@dataclass
class LineStats:
    """What the line has done since the gateway started."""

    served: int = 0  # requests that got an orchestrator (at once or after waiting)
    waited: int = 0  # of them, those that had to wait
    full: int = 0  # refused: the line was full
    timed_out: int = 0  # gave up: past their deadline
    wait_total: float = 0.0  # seconds, summed over the served
    wait_max: float = 0.0
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=1000))  # the last waits, for percentiles

    def add(self, seconds: float) -> None:
        self.served += 1
        self.waited += seconds > 0
        self.wait_total += seconds
        self.wait_max = max(self.wait_max, seconds)
        self.recent.append(seconds)

    def percentile(self, q: float) -> float:
        if not self.recent:
            return 0.0
        ordered = sorted(self.recent)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Waiter:
    __slots__ = ("key", "turn", "round", "urgent")

    def __init__(self, key: str, turn: asyncio.Future[None], urgent: bool) -> None:
        self.key = key
        self.turn = turn  # done: woken, trying now
        self.round = -1  # the wake-up it last tried in
        self.urgent = urgent


class WaitLine:
    def __init__(self, limit: int = 1000, *, on_served: Callable[[float], None] | None = None) -> None:
        self.limit = limit
        self.on_served = on_served  # told each served request's wait, seconds (the metrics)
        self._lines: dict[str, deque[_Waiter]] = {}  # each key's waiters, in the order they came
        self._turns: deque[str] = deque()  # keys with someone waiting; the front is served first
        self._timer: asyncio.TimerHandle | None = None
        self._round = 0  # which wake-up: each tries every waiter at most once
        self.stats = LineStats()

    @property
    def waiting(self) -> int:
        return sum(len(line) for line in self._lines.values())

    async def serve(
        self, key: str, deadline: float | None, attempt: Callable[[], Awaitable[T | None]], *,
        bounded: bool = True, urgent: bool = False,
    ) -> T:
        """`attempt()` until it gives a result (None: nothing is free for it now),
        waiting in line between tries. Raises LineFull (unless not `bounded`: work
        already accepted, such as a job's segments), WaitedTooLong (past `deadline`,
        a monotonic time; None: no deadline). `urgent` work (a live segment, whose
        viewers wait for it) is woken before the rest, in its own turns."""
        if not self.waiting:
            result = await attempt()
            if result is not None:
                self._served(0.0)
                return result
        if bounded and self.waiting >= self.limit:
            self.stats.full += 1
            raise LineFull(f"{self.waiting} requests are already waiting for an orchestrator")
        loop = asyncio.get_running_loop()
        joined = time.monotonic()
        me = _Waiter(key, loop.create_future(), urgent)
        if key not in self._lines:
            self._lines[key] = deque()
            self._turns.append(key)
        self._lines[key].append(me)
        try:
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                try:
                    if left is not None and left <= 0:
                        raise TimeoutError
                    await asyncio.wait_for(asyncio.shield(me.turn), left)
                except TimeoutError:
                    self.stats.timed_out += 1
                    raise WaitedTooLong("no orchestrator came free in time") from None
                tried_at = time.monotonic()
                result = await attempt()  # may hold its turn for the whole job (an AI request)
                if result is not None:
                    self._served(tried_at - joined)
                    self._leave(me, served=True)
                    self.wake()  # there may be room for the next one too
                    return result
                # Nothing for it: it keeps its place, and the next may use what came free.
                me.turn = loop.create_future()
                self._wake_next()
        except BaseException:
            if me in self._lines.get(key, ()):
                woken = me.turn.done()
                self._leave(me, served=False)
                if woken:
                    self._wake_next()  # it was woken as it gave up: pass the turn on
            raise

    def _served(self, seconds: float) -> None:
        self.stats.add(seconds)
        if self.on_served is not None:
            self.on_served(seconds)

    def wake(self) -> None:
        """A slot may have come free: let the next in turn try (and, if it cannot use
        it, the one after, and so on through the line once)."""
        self._round += 1
        self._wake_next()

    def _wake_next(self) -> None:
        for urgent in (True, False):
            for key in self._turns:
                for waiter in self._lines[key]:
                    if waiter.urgent is urgent and waiter.round != self._round and not waiter.turn.done():
                        waiter.round = self._round
                        waiter.turn.set_result(None)
                        return

    def _leave(self, waiter: _Waiter, *, served: bool) -> None:
        line = self._lines[waiter.key]
        line.remove(waiter)
        if not line:
            del self._lines[waiter.key]
            self._turns.remove(waiter.key)
        elif served:  # its key had its turn: the other keys go first now
            self._turns.remove(waiter.key)
            self._turns.append(waiter.key)

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
