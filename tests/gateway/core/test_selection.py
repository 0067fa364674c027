import random
from collections import Counter

from hypothesis import given, strategies as st

from framemesh.gateway.core.selection import Candidate, choose, weights


def draws(cands: list[Candidate], n: int = 4000, seed: int = 1) -> Counter[str]:
    rng = random.Random(seed)
    return Counter(choose(cands, rng) for _ in range(n))


def test_more_stake_more_work() -> None:
    got = draws([Candidate("a", stake=900), Candidate("b", stake=100)])
    assert got["a"] > 3 * got["b"] > 0


def test_cheaper_more_work() -> None:
    got = draws([Candidate("a", stake=1, price_per_pixel=1000), Candidate("b", stake=1, price_per_pixel=2000)])
    assert 1.6 < got["a"] / got["b"] < 2.5


def test_failing_orchestrator_fades_and_new_one_still_gets_work() -> None:
    got = draws(
        [
            Candidate("veteran", stake=1, successes=100, latency=1.0),
            Candidate("flaky", stake=1, successes=5, failures=20, latency=1.0),
            Candidate("new", stake=1),
        ]
    )
    assert got["veteran"] > got["new"] > got["flaky"] > 0


def test_slow_orchestrator_gets_less() -> None:
    got = draws([Candidate("fast", latency=1.0, successes=10), Candidate("slow", latency=4.0, successes=10)])
    assert got["fast"] > 3 * got["slow"]


def test_full_orchestrator_never_chosen() -> None:
    got = draws([Candidate("full", in_flight=2, capacity=2), Candidate("free", capacity=2)], n=200)
    assert got == Counter({"free": 200})
    assert choose([Candidate("full", in_flight=1, capacity=1)], random.Random(0)) is None


def test_each_is_drawn_in_proportion_to_its_weight() -> None:
    cands = [Candidate("a", stake=6), Candidate("b", stake=3, price_per_pixel=2, successes=4.5), Candidate("c", stake=1)]
    ws = weights(cands)
    n = 20_000
    got = draws(cands, n)
    for c, w in zip(cands, ws):
        assert abs(got[c.url] / n - w / sum(ws)) < 0.02, (c.url, got[c.url] / n, w / sum(ws))


@given(
    st.lists(
        st.builds(
            Candidate,
            url=st.text(min_size=1, max_size=5),
            stake=st.integers(0, 10**24),
            price_per_pixel=st.integers(0, 10**6),
            successes=st.integers(0, 100),
            failures=st.integers(0, 100),
            latency=st.one_of(st.none(), st.floats(0.01, 100)),
            in_flight=st.integers(0, 4),
            capacity=st.integers(1, 4),
        ),
        max_size=8,
    ),
    st.integers(0, 1000),
)
def test_weights_are_finite_and_choice_is_a_free_candidate(cands: list[Candidate], seed: int) -> None:
    ws = weights(cands)
    assert all(w >= 0 and w == w for w in ws)
    picked = choose(cands, random.Random(seed))
    free = [c for c in cands if c.in_flight < c.capacity]
    assert (picked is None) == (not free), "a free candidate is always drawn; a full one never"
    if picked is not None:
        assert any(c.url == picked for c in free)
