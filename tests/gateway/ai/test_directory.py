"""Who gets an AI job: the directory of what orchestrators serve, and its ranking (pure)."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from framemesh.ai import build_request
from framemesh.gateway.ai.directory import BUSY_NOW, AIDirectory, request_parts
from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.scores import Result, Work
from framemesh.wire.ai import AICapability

T2I = "text-to-image"
SD = "framemesh/tiny-sd"


def cap(model: str = SD, *, pipeline: str = T2I, warm: bool = True, price: int = 1, in_use: int = 0) -> AICapability:
    return AICapability(pipeline=pipeline, model_id=model, warm=warm, capacity=1, in_use=in_use, price_per_unit=price)


def directory(**caps: list[AICapability]) -> tuple[AIDirectory, OrchestratorPool]:
    d, pool = AIDirectory(rng=random.Random(0)), OrchestratorPool()
    for url, cs in caps.items():
        d.update(url, cs)
        pool.add(url)
    return d, pool


def test_only_orchestrators_serving_the_model_are_ranked() -> None:
    d, pool = directory(a=[cap()], b=[cap("other/model")], c=[cap(pipeline="upscale", model="realesrgan/x2")])
    ranked, why = d.rank(T2I, SD, pool, 0.0, None)
    assert ranked == [("a", 1)] and why is None
    assert d.rank(T2I, "nobody/has", pool, 0.0, None) == ([], None)


def test_warm_first_then_free_then_cheaper() -> None:
    d, pool = directory(cold=[cap(warm=False, price=1)], busy=[cap(price=1, in_use=1)], dear=[cap(price=5)], cheap=[cap(price=2)])
    ranked, _ = d.rank(T2I, SD, pool, 0.0, None)
    assert [url for url, _ in ranked] == ["cheap", "dear", "busy", "cold"]


def test_max_price_and_avoided_orchestrators() -> None:
    d, pool = directory(a=[cap(price=10)], b=[cap(price=3)])
    ranked, _ = d.rank(T2I, SD, pool, 0.0, 5)
    assert ranked == [("b", 3)]
    assert d.rank(T2I, SD, pool, 0.0, 2)[1] is not None and "max price" in d.rank(T2I, SD, pool, 0.0, 2)[1]  # type: ignore[operator]
    pool.failed("b", now=0.0)
    ranked, why = d.rank(T2I, SD, pool, 1.0, 5)
    assert ranked == [] and why == BUSY_NOW
    assert d.rank(T2I, SD, pool, 1000.0, 5)[0] == [("b", 3)], "avoidance ends"


def test_a_failing_or_slow_orchestrator_is_ranked_first_less_often() -> None:
    d, pool = directory(a=[cap()], b=[cap()], c=[cap()])
    work = Work.ai(T2I, SD)
    for i in range(20):
        pool.scores.record("a", work, Result(0.0, i % 2 == 0, 1.0))  # fails half its jobs
        pool.scores.record("b", work, Result(0.0, True, 1.0))
        pool.scores.record("c", work, Result(0.0, True, 5.0))  # five times slower
    firsts = Counter(d.rank(T2I, SD, pool, 0.0, None)[0][0][0] for _ in range(2000))
    assert firsts["b"] > firsts["c"] > firsts["a"] > 0


def test_offers_and_default_model() -> None:
    d, _ = directory(a=[cap("m1"), cap("m2", warm=False)], b=[cap("m2", warm=False)], c=[cap("m1")])
    assert d.offers() == [{"pipeline": T2I, "model_id": "m1"}, {"pipeline": T2I, "model_id": "m2"}]
    assert d.default_model(T2I) == "m1", "the most orchestrators serving it warm"
    assert d.default_model("upscale") is None
    d.forget("a")
    d.forget("c")
    assert d.default_model(T2I) == "m2"


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 100), st.integers(0, 1)), min_size=1, max_size=8))
def test_ranking_is_a_permutation_with_warm_ones_first(specs: list[tuple[bool, int, int]]) -> None:
    d, pool = directory(**{f"o{i}": [cap(warm=w, price=p, in_use=u)] for i, (w, p, u) in enumerate(specs)})
    ranked, _ = d.rank(T2I, SD, pool, 0.0, None)
    assert sorted(u for u, _ in ranked) == sorted(f"o{i}" for i in range(len(specs)))
    warmth = [specs[int(u[1:])][0] for u, _ in ranked]
    assert warmth == sorted(warmth, reverse=True)


def test_request_parts_split_fields_from_files() -> None:
    request = build_request("upscale", {"image": b"\x89PNG...", "model_id": "realesrgan/x2", "prompt": "p"})
    fields, files = request_parts(request)
    assert files == {"image": b"\x89PNG..."}
    assert fields["model_id"] == "realesrgan/x2" and "image" not in fields
    assert build_request("upscale", {**fields, **files}) == request, "the orchestrator rebuilds the same request"


def test_default_frames_is_what_most_servers_of_the_model_advertise() -> None:
    from framemesh.gateway.ai.directory import AIDirectory
    from framemesh.wire.ai import AICapability

    def cap(frames: int | None, model: str = "svd") -> AICapability:
        return AICapability(pipeline="image-to-video", model_id=model, warm=True, capacity=1, in_use=0,
                            price_per_unit=1, default_frames=frames)

    directory = AIDirectory()
    directory.update("http://a", [cap(14)])
    directory.update("http://b", [cap(25)])
    directory.update("http://c", [cap(25), cap(None, "other")])
    assert directory.default_frames("image-to-video", "svd") == 25
    assert directory.default_frames("image-to-video", "other") is None
    assert directory.default_frames("image-to-video", "nobody") is None


async def test_a_model_full_of_the_gateways_own_jobs_or_that_said_busy_gets_no_more_until_a_slot_frees() -> None:
    from framemesh.gateway.ai.dispatch import AIDispatcher
    from framemesh.gateway.core.waiting import WaitLine

    d, pool = directory(a=[cap()], b=[cap()])
    ai = AIDispatcher(d, pool, None, None, timeout=5, attempts=2, max_price=None, line=WaitLine())  # type: ignore[arg-type]
    assert {url for url, _ in ai.ranked(T2I, SD)} == {"a", "b"}
    ai.take(("a", T2I, SD))  # one job of ours on a's only slot: no request is sent there only to be refused
    assert [url for url, _ in ai.ranked(T2I, SD)] == ["b"]
    ai.said_full(("b", T2I, SD), 30.0)  # b answered busy (another gateway's work): not for its Retry-After
    try:
        ai.ranked(T2I, SD)
        raise AssertionError("both are full")
    except Exception as exc:
        assert getattr(exc, "transient", False) and BUSY_NOW in str(exc)
    assert 29 < ai.next_change() <= 30
    ai.give_back(("a", T2I, SD))  # our job on a ended: its slot is free
    assert [url for url, _ in ai.ranked(T2I, SD)] == ["a"]
    assert ai.running == {}, "nothing of ours runs"


def test_a_model_gets_as_many_jobs_as_it_admits_running_or_queued() -> None:
    from framemesh.gateway.ai.dispatch import AIDispatcher
    from framemesh.gateway.core.waiting import WaitLine

    queued = cap().model_copy(update={"admits": 2})  # one worker: one running, one queued
    d, pool = directory(a=[queued])
    ai = AIDispatcher(d, pool, None, None, timeout=5, attempts=2, max_price=None, line=WaitLine())  # type: ignore[arg-type]
    ai.take(("a", T2I, SD))
    assert [url for url, _ in ai.ranked(T2I, SD)] == ["a"], "its worker's next job waits there, not here"
    ai.take(("a", T2I, SD))
    assert ai.is_full("a", queued), "two of ours: its worker's queue is full"
    assert ai.is_full("a", cap()), "a model that says nothing of a queue takes its capacity, one"
