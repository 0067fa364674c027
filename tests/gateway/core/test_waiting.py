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


async def test_a_slot_one_waiter_cannot_use_goes_to_the_next_who_can() -> None:
    line = WaitLine()
    ai, video = Slots(0), Slots(0)  # two kinds of slot: who waits for which
    deadline = time.monotonic() + 5
    wants_ai = asyncio.create_task(line.serve("a", deadline, ai.attempt("ai0")))
    await asyncio.sleep(0.01)
    wants_video = asyncio.create_task(line.serve("b", deadline, video.attempt("seg0")))
    await asyncio.sleep(0.01)
    video.free = 1
    line.wake()  # the first in line cannot use it: it passes its turn on at once
    assert await asyncio.wait_for(wants_video, 1) == "seg0"
    assert not wants_ai.done() and line.waiting == 1, "the AI request keeps its place"
    ai.free = 1
    line.wake()
    assert await asyncio.wait_for(wants_ai, 1) == "ai0"


async def test_a_wake_up_no_one_can_use_goes_once_through_the_line_and_stops() -> None:
    line, slots = WaitLine(), Slots(0)
    tries = [0]

    def counting(name: str):  # type: ignore[no-untyped-def]
        inner = slots.attempt(name)

        async def go() -> str | None:
            tries[0] += 1
            return await inner()

        return go

    tasks = [asyncio.create_task(line.serve(f"k{n}", None, counting(f"r{n}"))) for n in range(3)]
    await asyncio.sleep(0.01)
    tries[0] = 0
    line.wake()
    await asyncio.sleep(0.05)
    assert tries[0] == 3, "each waiter tried once, and the wake-up did not go round forever"
    assert line.waiting == 3
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert line.waiting == 0


async def test_accepted_work_waits_past_the_lines_length_without_a_deadline() -> None:
    line, slots = WaitLine(limit=1), Slots(0)
    first = asyncio.create_task(line.serve("k", None, slots.attempt("first"), bounded=False))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(line.serve("k", None, slots.attempt("second"), bounded=False))
    await asyncio.sleep(0.01)
    assert line.waiting == 2, "a job's segments are not refused for the line's length"
    slots.free = 2
    line.wake()
    assert await asyncio.wait_for(asyncio.gather(first, second), 1) == ["first", "second"]


async def test_the_line_keeps_count_of_what_it_did() -> None:
    line, slots = WaitLine(limit=1), Slots(1)
    assert await line.serve("k", time.monotonic() + 5, slots.attempt("now")) == "now"
    later = asyncio.create_task(line.serve("k", time.monotonic() + 5, slots.attempt("later")))
    await asyncio.sleep(0.05)
    with pytest.raises(LineFull):
        await line.serve("k", time.monotonic() + 5, slots.attempt("refused"))
    slots.free = 1
    line.wake()
    await later
    with pytest.raises(WaitedTooLong):
        await line.serve("k", time.monotonic() + 0.01, slots.attempt("late"))
    st = line.stats
    assert (st.served, st.waited, st.full, st.timed_out) == (2, 1, 1, 1)
    assert 0.04 < st.wait_max == st.wait_total < 1 and st.percentile(0.5) in (0.0, st.wait_max)


async def test_urgent_work_is_served_before_work_that_came_earlier() -> None:
    line, slots = WaitLine(), Slots(0)
    early = asyncio.create_task(line.serve("vod", None, slots.attempt("segment"), bounded=False))
    await asyncio.sleep(0.01)
    live = asyncio.create_task(line.serve("viewer", time.monotonic() + 5, slots.attempt("live"), urgent=True))
    await asyncio.sleep(0.01)
    slots.free = 1
    line.wake()
    assert await asyncio.wait_for(live, 1) == "live", "a live segment's viewers are waiting for it"
    assert not early.done()
    slots.free = 1
    line.wake()
    assert await asyncio.wait_for(early, 1) == "segment"
