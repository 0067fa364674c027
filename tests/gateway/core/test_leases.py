"""Leases on jobs, on SQLite and PostgreSQL: who holds a job, how long, and who may
take it over (`core.leases`)."""

from __future__ import annotations

import threading
from pathlib import Path

from framemesh.gateway.core.leases import Lease
from framemesh.gateway.vod.jobs import JobState, SegmentState
from framemesh.gateway.vod.store import JobStore

A, B = Lease("gw-a", 10.0), Lease("gw-b", 10.0)


def _job(store: JobStore, job_id: str, lease: Lease | None) -> None:
    store.add_job(job_id, ("360p",), Path(f"/work/{job_id}/source.mp4"), "clip.mp4", lease)


def test_a_job_is_held_from_its_insert_and_not_claimable_by_another(records_db: Path | str) -> None:
    store = JobStore(records_db)
    _job(store, "j1", A)
    assert store.leases.claim(B) == [], "held by a: b must not take it"
    assert store.leases.holder_of("j1") == "gw-a"
    assert store.leases.claim(A) == [], "its holder runs it: nothing new to claim"
    assert store.leases.claim(A, own=True) == ["j1"], "a restart under the same name carries it on at once"
    store.close()


def test_a_lease_that_ran_out_is_taken_over_and_fences_the_old_holder(records_db: Path | str) -> None:
    store = JobStore(records_db)
    _job(store, "j1", A)
    store.set_job_state("j1", JobState.SEGMENTING)
    store.set_segments("j1", [(0, Path("/s0"), 0.0, 2.0), (1, Path("/s1"), 2.0, 2.0)])
    store.set_job_state("j1", JobState.TRANSCODING)
    assert store.claim_segment("j1", 0, A)
    later = store.job("j1").created + 11.0  # a's lease ran out
    assert store.leases.claim(B, now=later) == ["j1"]
    assert not store.leases.holds(A, "j1", now=later) and store.leases.holds(B, "j1", now=later)
    assert store.leases.renew(A, now=later) == set(), "a renewing finds it lost the job"
    assert not store.claim_segment("j1", 1, A), "a may not start another segment of b's job"
    assert store.segment("j1", 1).state is SegmentState.PENDING
    assert store.claim_segment("j1", 1, B)
    assert not store.claim_segment("j1", 1, B), "a segment is claimed once"
    store.close()


def test_ended_jobs_are_never_claimed_and_release_frees_at_once(records_db: Path | str) -> None:
    store = JobStore(records_db)
    _job(store, "done", A)
    store.set_job_state("done", JobState.FAILED, error="x")
    _job(store, "open", A)
    _job(store, "legacy", None)  # a row from before leases: anyone's
    assert store.leases.claim(B) == ["legacy"]
    store.leases.release(A)
    assert store.leases.claim(B) == ["open"]
    assert store.leases.renew(B) == {"open", "legacy"}
    store.close()


def test_two_gateways_claiming_at_once_never_claim_the_same_job(records_db: Path | str) -> None:
    setup = JobStore(records_db)
    for i in range(40):
        _job(setup, f"j{i:02d}", None)
    setup.close()
    stores = [JobStore(records_db), JobStore(records_db)]  # two connections: two processes' worth
    got: dict[str, list[str]] = {"gw-a": [], "gw-b": []}
    start = threading.Barrier(2)

    def claim(store: JobStore, lease: Lease) -> None:
        start.wait()
        for _ in range(10):
            got[lease.holder] += store.leases.claim(lease, limit=3)

    threads = [threading.Thread(target=claim, args=(s, lease)) for s, lease in zip(stores, (A, B))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(got["gw-a"]) & set(got["gw-b"]), "a job claimed by both"
    assert sorted(got["gw-a"] + got["gw-b"]) == [f"j{i:02d}" for i in range(40)]
    for s in stores:
        s.close()
