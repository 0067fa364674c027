"""A gateway whose records are in PostgreSQL: a clip is transcoded through a real
orchestrator, and a gateway started again on the same database resumes the job."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from framemesh.gateway.vod.jobs import JobState
from framemesh.gateway.vod.store import JobStore
from tests.e2e.clips import CLIP_SECONDS, EXPECTED
from tests.e2e.ladder import assert_ladder
from tests.e2e.nodes import gateway_thread, orchestrator_thread
from tests.e2e.test_failures import _finish, _submit


def test_a_job_accepted_on_postgresql_is_resumed_by_the_next_gateway(
    tmp_path: Path, clip: Path, postgres_server: object
) -> None:
    url = postgres_server.fresh_url()  # type: ignore[attr-defined]
    first = gateway_thread(tmp_path, ["http://127.0.0.1:9"], avoid_seconds=30.0, database=url)  # nothing listens
    job = _submit(first.url, clip)
    deadline = time.monotonic() + 30
    while httpx.get(f"{first.url}/jobs/{job}").json()["state"] != "transcoding":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.stop()
    assert not (tmp_path / "gateway" / "gateway.sqlite").exists(), "no SQLite file: the records are in PostgreSQL"

    live = orchestrator_thread(tmp_path, "live")
    second = gateway_thread(tmp_path, [live.url], database=url)
    try:
        status, master = _finish(second.url, job, tmp_path / "ladder")
        assert status.state == "completed", status.error
        assert status.orchestrators == {live.url: 3}
        assert_ladder(master, EXPECTED, CLIP_SECONDS)
    finally:
        second.stop()
        live.stop()
    records = JobStore(url)  # what the database holds, read by a store of its own
    assert records.job(job).state is JobState.COMPLETED and records.count_done(job) == 3
    records.close()
