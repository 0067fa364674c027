"""Two gateway processes behind one API: one PostgreSQL database, one S3 object store
(SeaweedFS), their own data folders, the same orchestrator, all on loopback.

Any of them answers for any job; a gateway killed with -9 in the middle of a job has
it taken over by the other, which completes it without running a delivered segment
again; a live stream's media goes to one gateway while the other serves its playlists
and refuses its media.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from framemesh.postgres import PostgresDatabase
from tests.e2e.clips import PROFILES
from tests.e2e.live import status, ts_segments, wait_for
from tests.e2e.nodes import NodeProcess, gateway_process, orchestrator_process
from tests.e2e.scrape import scrape

LEASE = 3.0  # seconds: a short lease, so the takeover comes within the test's patience


@pytest.fixture
def pair(tmp_path: Path, postgres_server: Any, s3_server: Any) -> Iterator[dict[str, Any]]:
    url = postgres_server.fresh_url()
    bucket = s3_server.bucket(f"fm-{uuid.uuid4().hex[:12]}")
    with ExitStack() as stack:
        # Slow enough that a 3-segment job is still running when its gateway is killed.
        orch = stack.enter_context(orchestrator_process(tmp_path, "o1", 2, "--slow-seconds", "1.5"))
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
        shared = ("--database", url, "--object-store", s3_server.location(bucket), "--lease-seconds", str(LEASE))
        a = stack.enter_context(gateway_process(tmp_path / "a", [orch.url], *shared, "--name", "gw-a"))
        b = stack.enter_context(gateway_process(tmp_path / "b", [orch.url], *shared, "--name", "gw-b"))
        db = PostgresDatabase(url)
        stack.callback(db.close)
        yield {"a": a, "b": b, "db": db, "orchestrator": orch.url, "root": tmp_path}


def _holder(db: PostgresDatabase, table: str, row_id: str) -> str | None:
    with db.lock:
        row = db.execute(f"SELECT holder FROM {table} WHERE id = ?", (row_id,)).fetchone()
    return row["holder"]


def test_a_killed_gateways_job_is_taken_over_and_any_gateway_answers_for_it(pair: dict[str, Any], clip: Path) -> None:
    a: NodeProcess = pair["a"]
    b: NodeProcess = pair["b"]
    with clip.open("rb") as fh:
        accepted = httpx.post(f"{a.url}/jobs", files={"file": ("clip.mp4", fh, "video/mp4")},
                              data={"profiles": PROFILES}, timeout=60).json()
    job_id = accepted["id"]
    assert _holder(pair["db"], "jobs", job_id) == "gw-a"
    # b answers for a's job while a runs it: the records are shared.
    running = wait_for("a segment delivered", lambda: (j := httpx.get(f"{b.url}/jobs/{job_id}").json())
                       ["segments"]["done"] >= 1 and j, timeout=90)
    assert running["state"] == "transcoding" and running["segments"]["total"] == 3
    delivered_before = running["segments"]["done"]
    a.kill()
    killed = time.monotonic()
    wait_for("b holds the job", lambda: _holder(pair["db"], "jobs", job_id) == "gw-b", timeout=60)
    took = time.monotonic() - killed
    done = wait_for("the job completed", lambda: (j := httpx.get(f"{b.url}/jobs/{job_id}").json())
                    ["state"] in ("completed", "failed") and j, timeout=120)
    assert done["state"] == "completed", done
    assert done["segments"] == {"done": 3, "total": 3}
    # Every segment once in the ladder, whoever delivered it.
    master = httpx.get(f"{b.url}{done['outputs']['master']}").text
    renditions = [line for line in master.splitlines() if line.endswith(".m3u8")]
    assert len(renditions) == 2
    base = done["outputs"]["master"].rsplit("/", 1)[0]
    for rendition in renditions:
        playlist = httpx.get(f"{b.url}{base}/{rendition}").text
        assert playlist.count("#EXTINF") == 3 and "#EXT-X-ENDLIST" in playlist
    # The segments a delivered before it died were not run again: the orchestrator was
    # asked for at most 3 segments plus those in flight when a died (its capacity, 2).
    stats = httpx.get(f"{pair['orchestrator']}/stats").json()
    assert delivered_before >= 1 and 3 <= stats["segments_done"] <= 3 + 2, stats
    assert scrape(b.url).value("framemesh_gateway_taken_over_total") >= 1
    with pair["db"].lock:  # the stored source went with the job's end, though a's folder held it
        left = pair["db"].execute("SELECT key FROM object_uploads WHERE key LIKE 'work/%'").fetchall()
    assert [r["key"] for r in left] == []
    print(f"taken over {took:.1f} s after the kill (lease {LEASE:g} s)")


def test_a_job_whose_gateways_machine_is_gone_is_cut_again_from_the_stored_source(
    pair: dict[str, Any], clip: Path
) -> None:
    a: NodeProcess = pair["a"]
    b: NodeProcess = pair["b"]
    with clip.open("rb") as fh:
        job_id = httpx.post(f"{a.url}/jobs", files={"file": ("clip.mp4", fh, "video/mp4")},
                            data={"profiles": PROFILES}, timeout=60).json()["id"]
    wait_for("a segment delivered", lambda: httpx.get(f"{b.url}/jobs/{job_id}").json()["segments"]["done"] >= 1,
             timeout=90)
    a.kill()
    shutil.rmtree(pair["root"] / "a")  # its disk went with its machine: only the bucket has the source
    done = wait_for("the job ended", lambda: (j := httpx.get(f"{b.url}/jobs/{job_id}").json())
                    ["state"] in ("completed", "failed") and j, timeout=150)
    assert done["state"] == "completed", done
    assert done["segments"] == {"done": 3, "total": 3} and _holder(pair["db"], "jobs", job_id) is not None
    master = httpx.get(f"{b.url}{done['outputs']['master']}")
    assert master.status_code == 200 and master.text.count(".m3u8") == 2
    assert httpx.get(f"{b.url}/outputs/work/{job_id}/source.mp4").status_code == 404, "a source is never an output"


def test_a_streams_media_goes_to_one_gateway_and_its_playlists_are_any_gateways(
    pair: dict[str, Any], clip: Path, tmp_path: Path
) -> None:
    a: NodeProcess = pair["a"]
    b: NodeProcess = pair["b"]
    s = httpx.post(f"{b.url}/streams", json={"name": "shared", "profiles": "240p", "record": True}, timeout=30).json()
    push_a = s["push_url"].replace(b.url, a.url)
    segments = ts_segments(clip, tmp_path / "ts")
    first = httpx.put(f"{push_a}/0.ts", content=segments[0].read_bytes(), timeout=30)
    assert first.status_code == 201, first.text
    assert _holder(pair["db"], "streams", s["id"]) == "gw-a"
    refused = httpx.put(f"{s['push_url']}/1.ts", content=segments[1].read_bytes(), timeout=30)
    assert refused.status_code == 409 and "gw-a" in refused.json()["detail"]["msg"], refused.text
    for n, path in enumerate(segments[1:], start=1):
        assert httpx.put(f"{push_a}/{n}.ts", content=path.read_bytes(), timeout=30).status_code == 201
    wait_for("the segments listed", lambda: status(b.url, s["id"])["segments"]["listed"] == len(segments))
    from_a = httpx.get(f"{a.url}/streams/{s['id']}/240p/index.m3u8").text
    from_b = httpx.get(f"{b.url}/streams/{s['id']}/240p/index.m3u8")
    assert from_b.status_code == 200 and from_b.text == from_a
    assert httpx.get(f"{b.url}/streams/{s['id']}/index.m3u8").text == httpx.get(f"{a.url}/streams/{s['id']}/index.m3u8").text
    # A segment b lists, b serves (from the store, or from a's copy it fetched).
    name = [line for line in from_b.text.splitlines() if line.endswith(".mp4")][-1]
    seg = httpx.get(f"{b.url}/streams/{s['id']}/240p/{name}", follow_redirects=True, timeout=30)
    assert seg.status_code == 200 and len(seg.content) > 1000
    # Ended through b: a, which has its segments, writes the recording, and any gateway serves it.
    ended = httpx.delete(f"{b.url}/streams/{s['id']}", timeout=60).json()
    assert ended["state"] == "ended"
    recorded = wait_for("the recording", lambda: status(b.url, s["id"]).get("recording_url"), timeout=60)
    recording = httpx.get(recorded, timeout=30)
    assert recording.status_code == 200 and "240p" in recording.text
    playlist = httpx.get(recorded.replace("master.m3u8", "240p/index.m3u8"), timeout=30)
    assert playlist.text.count("#EXTINF") == len(segments) and "#EXT-X-ENDLIST" in playlist.text
