from hypothesis import given, strategies as st

from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.pool import RECORD_HALF_LIFE


def make_pool(*caps: int) -> OrchestratorPool:
    pool = OrchestratorPool(base_avoid=5.0, max_avoid=60.0)
    for i, cap in enumerate(caps):
        pool.set_info(f"http://o{i}", cap)
    return pool


def test_acquire_fills_every_slot_then_says_none() -> None:
    pool = make_pool(2, 1)
    got = [pool.acquire(0.0) for _ in range(3)]
    assert sorted(got) == ["http://o0", "http://o0", "http://o1"]  # type: ignore[type-var]
    assert pool.acquire(0.0) is None


def test_work_spreads_over_orchestrators() -> None:
    pool = make_pool(4, 4)
    got = [pool.acquire(0.0) for _ in range(8)]
    assert sorted(got) == ["http://o0"] * 4 + ["http://o1"] * 4  # type: ignore[operator]


def test_orchestrator_over_max_price_is_refused() -> None:
    pool = OrchestratorPool()
    pool.set_info("http://cheap", 1, price_per_pixel=100, max_price=500)
    pool.set_info("http://dear", 1, price_per_pixel=900, max_price=500)
    assert pool.acquire(0.0) == "http://cheap"
    assert pool.acquire(0.0) is None
    assert "max price" in (pool.members["http://dear"].refused or "")


def test_removed_orchestrator_gets_no_more_work() -> None:
    pool = make_pool(2, 1)
    url = pool.acquire(0.0)
    pool.remove("http://o0")
    pool.remove("http://o1")
    assert pool.acquire(0.0) is None
    if url == "http://o0":
        assert "http://o0" in pool.members  # still finishing its segment


def test_release_frees_a_slot_and_double_release_is_an_error() -> None:
    pool = make_pool(1)
    url = pool.acquire(0.0)
    assert url is not None and pool.acquire(0.0) is None
    pool.release(url)
    assert pool.acquire(0.0) == url
    pool.release(url)
    try:
        pool.release(url)
    except RuntimeError:
        pass
    else:
        raise AssertionError("double release must raise")


def test_failed_orchestrator_is_avoided_then_tried_again() -> None:
    pool = make_pool(1, 1)
    pool.failed("http://o0", now=100.0)
    assert [pool.acquire(100.0), pool.acquire(100.0)] == ["http://o1", None]
    assert pool.next_change(100.0) == 5.0
    assert pool.acquire(105.0) == "http://o0"


def test_avoidance_doubles_and_caps() -> None:
    pool = make_pool(1)
    waits = [pool.failed("http://o0", now=0.0) for _ in range(6)]
    assert waits == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    pool.succeeded("http://o0", 1.0, now=0.0)
    pool.members["http://o0"].avoid_until = 0.0
    assert pool.failed("http://o0", now=0.0) == 5.0


def test_busy_is_not_a_failure() -> None:
    pool = make_pool(1)
    pool.busy("http://o0", now=0.0, retry_after=2.0)
    assert pool.acquire(1.0) is None
    assert pool.acquire(2.0) == "http://o0"
    assert pool.members["http://o0"].failures == 0


def test_faster_orchestrator_preferred_at_equal_load() -> None:
    picks = []
    for seed in range(200):
        pool = make_pool(1, 1)
        pool.rng.seed(seed)
        for _ in range(10):  # 2 s segments: back in 3 s (score 0.49) and in 1 s (0.86)
            pool.succeeded("http://o0", 3.0, now=0.0, duration=2.0)
            pool.succeeded("http://o1", 1.0, now=0.0, duration=2.0)
        picks.append(pool.acquire(0.0))
    assert picks.count("http://o1") > 2 * picks.count("http://o0") > 0


@given(st.lists(st.tuples(st.sampled_from(["acquire", "release", "fail"]), st.integers(0, 2)), max_size=60))
def test_in_flight_never_exceeds_capacity(ops: list[tuple[str, int]]) -> None:
    pool = make_pool(1, 2, 3)
    held: list[str] = []
    now = 0.0
    for op, i in ops:
        now += 1.0
        if op == "acquire":
            url = pool.acquire(now)
            if url:
                held.append(url)
        elif op == "release" and held:
            pool.release(held.pop(i % len(held)))
        elif op == "fail":
            pool.failed(f"http://o{i}", now)
        for m in pool.members.values():
            assert 0 <= m.in_flight <= m.capacity
        assert sum(m.in_flight for m in pool.members.values()) == len(held)


def test_info_does_not_bring_back_an_orchestrator_that_left_the_active_set() -> None:
    pool = make_pool(1)
    url = pool.acquire(0.0)
    assert url == "http://o0"
    pool.remove(url)  # still finishing its segment: kept, but refused
    pool.set_info(url, 1, price_per_pixel=1)
    assert pool.members[url].refused == "no longer in the active set"
    pool.release(url)
    assert pool.acquire(0.0) is None
    pool.add(url)  # the chain lists it again
    assert pool.acquire(0.0) == url


def test_a_price_refusal_lifts_when_the_price_comes_down() -> None:
    pool = OrchestratorPool()
    pool.set_info("http://o", 1, price_per_pixel=900, max_price=500)
    assert pool.acquire(0.0) is None
    pool.set_info("http://o", 1, price_per_pixel=400, max_price=500)
    assert pool.acquire(0.0) == "http://o"


def test_a_failure_record_fades_with_time() -> None:
    """B10: an orchestrator that failed an hour ago is not held to it for ever."""
    pool = make_pool(1)
    for _ in range(20):
        pool.failed("http://o0", now=0.0)
    member = pool.members["http://o0"]
    assert member.success_rate(0.0) < 0.05
    assert 0.4 < member.success_rate(6 * RECORD_HALF_LIFE) < 0.5, "six half-lives on, close to a new one's 1/2"
    assert member.failures == 20, "the total stays for reporting"
    pool.succeeded("http://o0", 1.0, now=6 * RECORD_HALF_LIFE)
    assert member.success_rate(6 * RECORD_HALF_LIFE) > 0.5


def test_an_unanswered_probe_backs_off_but_is_not_a_failed_job() -> None:
    pool = make_pool(1)
    assert [pool.unreachable("http://o0", now=0.0) for _ in range(3)] == [5.0, 10.0, 20.0]
    member = pool.members["http://o0"]
    assert (member.failures, member.recent_failures, member.success_rate(0.0)) == (0, 0.0, 0.5)
    assert pool.acquire(19.0) is None and pool.acquire(20.0) == "http://o0"


def test_a_preferred_orchestrator_is_taken_while_it_is_free_and_an_excluded_one_never() -> None:
    pool = make_pool(1, 1, 1)
    assert pool.acquire(0.0, prefer="http://o2") == "http://o2"
    assert pool.acquire(0.0, prefer="http://o2") in ("http://o0", "http://o1"), "full: another is drawn"
    assert pool.acquire(0.0, exclude={"http://o0", "http://o1"}) is None
    pool = make_pool(1, 1)
    pool.failed("http://o1", now=0.0)
    assert pool.acquire(1.0, prefer="http://o1") == "http://o0", "an avoided one is not taken, preferred or not"


def test_a_failure_avoids_a_bad_result_bans_and_both_count_in_the_score_of_that_work() -> None:
    from framemesh.gateway.core.scores import TRANSCODING, Work

    pool = make_pool(1, 1)
    t2i = Work.ai("text-to-image", "m")
    assert pool.failure("http://o0", 0.0, bad_result=False, work=t2i) == 5.0
    assert pool.failure("http://o1", 0.0, bad_result=True) == 60.0, "a cheat is avoided for the longest"
    assert pool.scores.score("http://o0", t2i, 0.0).success_rate == 0.0  # type: ignore[union-attr]
    assert pool.scores.score("http://o0", TRANSCODING, 0.0) is None, "an AI failure says nothing of its transcoding"
    assert pool.scores.score("http://o1", TRANSCODING, 0.0).samples == 1  # type: ignore[union-attr]
