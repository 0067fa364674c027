import random
from collections import Counter

from hypothesis import given, strategies as st

from framemesh.gateway.core.selection import SCORE_FLOOR, Candidate, choose, order, prior, weights


def draws(cands: list[Candidate], n: int = 4000, seed: int = 1) -> Counter[str]:
    rng = random.Random(seed)
    return Counter(choose(cands, rng) for _ in range(n))


def test_more_stake_more_work() -> None:
    got = draws([Candidate("a", stake=900), Candidate("b", stake=100)])
    assert got["a"] > 3 * got["b"] > 0


def test_cheaper_more_work() -> None:
    got = draws([Candidate("a", stake=1, price_per_pixel=1000), Candidate("b", stake=1, price_per_pixel=2000)])
    assert 1.6 < got["a"] / got["b"] < 2.5


def test_a_low_score_gets_less_and_a_new_one_still_gets_work() -> None:
    got = draws(
        [
            Candidate("veteran", stake=1, score=0.95, samples=100),
            Candidate("flaky", stake=1, score=0.3, samples=25),
            Candidate("new", stake=1),
        ]
    )
    assert got["veteran"] > got["flaky"] > 0
    assert got["new"] > got["flaky"], "a new one starts at the prior, not at the bottom"


def test_the_score_weighs_squared_once_it_has_many_results() -> None:
    ws = weights([Candidate("a", score=0.9, samples=10_000), Candidate("b", score=0.45, samples=10_000)])
    assert abs(ws[0] / ws[1] - 4.0) < 0.01, "half the score, a quarter of the work"


def test_a_new_orchestrator_is_given_the_median_known_score() -> None:
    cands = [Candidate("a", score=0.9, samples=50), Candidate("b", score=0.5, samples=50), Candidate("c", score=0.7, samples=5),
             Candidate("new")]
    assert prior(cands) == 0.7
    assert prior([Candidate("x"), Candidate("y")]) == 1.0, "no record anywhere: everyone counts as 1"
    ws = weights(cands)
    assert ws[0] > ws[2] > ws[1] and abs(ws[3] - ws[2]) < 1e-12


def test_few_results_are_pulled_towards_the_prior() -> None:
    one_bad = weights([Candidate("a", score=0.9, samples=100), Candidate("b", score=0.0, samples=1)])
    many_bad = weights([Candidate("a", score=0.9, samples=100), Candidate("b", score=0.0, samples=100)])
    assert one_bad[1] > 2 * many_bad[1], "one failed first job does not sink it"


def test_a_zero_score_keeps_a_floor_so_it_is_measured_again() -> None:
    ws = weights([Candidate("good", score=1.0, samples=10_000), Candidate("dead", score=0.0, samples=10_000)])
    assert ws[1] > 0 and abs(ws[1] / ws[0] - SCORE_FLOOR) < 1e-3
    got = draws([Candidate("good", score=1.0, samples=10_000), Candidate("dead", score=0.0, samples=10_000)])
    assert 0 < got["dead"] < 0.1 * got["good"]


def test_order_draws_every_one_once_best_first_most_often() -> None:
    cands = [Candidate("a", score=1.0, samples=100), Candidate("b", score=0.3, samples=100), Candidate("full", in_flight=1)]
    firsts: Counter[str] = Counter()
    rng = random.Random(3)
    for _ in range(2000):
        drawn = order(cands, rng)
        assert sorted(drawn) == ["a", "b", "full"] and drawn[-1] == "full", "no weight: last"
        firsts[drawn[0]] += 1
    ws = weights(cands)
    assert abs(firsts["a"] / 2000 - ws[0] / sum(ws)) < 0.03, "the first is drawn as choose draws"


def test_full_orchestrator_never_chosen() -> None:
    got = draws([Candidate("full", in_flight=2, capacity=2), Candidate("free", capacity=2)], n=200)
    assert got == Counter({"free": 200})
    assert choose([Candidate("full", in_flight=1, capacity=1)], random.Random(0)) is None


def test_each_is_drawn_in_proportion_to_its_weight() -> None:
    cands = [Candidate("a", stake=6), Candidate("b", stake=3, price_per_pixel=2, score=0.6, samples=4), Candidate("c", stake=1)]
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
            score=st.one_of(st.none(), st.floats(0.0, 1.0)),
            samples=st.integers(0, 200),
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
    assert sorted(order(cands, random.Random(seed))) == sorted(c.url for c in cands)
    picked = choose(cands, random.Random(seed))
    free = [c for c in cands if c.in_flight < c.capacity]
    assert (picked is None) == (not free), "a free candidate is always drawn; a full one never"
    if picked is not None:
        assert any(c.url == picked for c in free)
