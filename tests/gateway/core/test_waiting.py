"""The line of requests waiting for a free orchestrator: first come first served,
keys take turns, a freed slot goes to the next at once, and the line has bounds."""

from __future__ import annotations

import asyncio
import time

import pytest

from framemesh.gateway.core.waiting import LineFull, WaitedTooLong, WaitLine


class Slots:
    """A resource with `free` slots; who got one, in order."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.served: list[str] = []

    def attempt(self, name: str):  # type: ignore[no-untyped-def]
        async def go() -> str | None:
            if self.free <= 0:
                return None
            self.free -= 1
            self.served.append(name)
            return name

        return go


async def test_requests_are_served_in_the_order_they_came() -> None:
    line, slots = WaitLine(), Slots(0)
    deadline = time.monotonic() + 5
    tasks = []
    for n in range(4):
        tasks.append(asyncio.create_task(line.serve("k", deadline, slots.attempt(f"r{n}"))))
        await asyncio.sleep(0)  # each joins the line before the next
    await asyncio.sleep(0.01)
    assert line.waiting == 4
    for _ in range(4):
        slots.free += 1
        line.wake()  # a job finished: the next in line gets its slot at once
        await asyncio.sleep(0.01)
    assert await asyncio.gather(*tasks) == ["r0", "r1", "r2", "r3"]
    assert slots.served == ["r0", "r1", "r2", "r3"]


async def test_keys_take_turns() -> None:
    line, slots = WaitLine(), Slots(0)
    deadline = time.monotonic() + 5
    tasks = [asyncio.create_task(line.serve("busy", deadline, slots.attempt(f"busy{n}"))) for n in range(3)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(line.serve("quiet", deadline, slots.attempt("quiet0"))))
    await asyncio.sleep(0.01)
    for _ in range(4):
        slots.free += 1
        line.wake()
        await asyncio.sleep(0.01)
    await asyncio.gather(*tasks)
    assert slots.served.index("quiet0") == 1, f"one burst does not hold another key back: {slots.served}"


async def test_a_free_slot_is_taken_at_once_without_waiting() -> None:
    line, slots = WaitLine(), Slots(1)
    assert await line.serve("k", time.monotonic() + 5, slots.attempt("now")) == "now"
    assert line.waiting == 0


async def test_the_line_is_bounded_in_length_and_time() -> None:
    line, slots = WaitLine(limit=1), Slots(0)
    first = asyncio.create_task(line.serve("k", time.monotonic() + 0.3, slots.attempt("first")))
    await asyncio.sleep(0.01)
    with pytest.raises(LineFull):
        await line.serve("k", time.monotonic() + 5, slots.attempt("second"))
    with pytest.raises(WaitedTooLong):
        await first
    assert line.waiting == 0 and slots.served == []


async def test_a_timed_wake_up_serves_the_line_when_nothing_finishes_here() -> None:
    line, slots = WaitLine(), Slots(0)
    task = asyncio.create_task(line.serve("k", time.monotonic() + 5, slots.attempt("later")))
    await asyncio.sleep(0.01)
    slots.free = 1  # freed elsewhere (another gateway's job ended): only the timer notices
    line.wake_after(0.05)
    assert await asyncio.wait_for(task, 2) == "later"
