import threading

import pytest

from framemesh.orchestrator.capacity import CapacityLimiter


def test_refuses_past_capacity() -> None:
    lim = CapacityLimiter(2)
    assert lim.try_acquire() and lim.try_acquire()
    assert not lim.try_acquire()
    assert lim.load == 2
    lim.release()
    assert lim.try_acquire()


def test_release_without_acquire_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        CapacityLimiter(1).release()


def test_zero_capacity_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CapacityLimiter(0)


def test_concurrent_acquires_never_overshoot() -> None:
    lim = CapacityLimiter(3)
    got: list[bool] = []
    threads = [threading.Thread(target=lambda: got.append(lim.try_acquire())) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got.count(True) == 3 and lim.load == 3
