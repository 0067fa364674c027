"""SIGTERM: a node takes no new work, lets the work in flight finish, and exits 0
(within a bound: the test waits 30 s before calling it hung)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from framemesh.media.segment import split_segments
from framemesh.media.testclip import make_test_clip
from tests.e2e.nodes import gateway_process, orchestrator_process


def test_an_orchestrator_finishes_the_segment_in_flight_and_exits_0(tmp_path: Path) -> None:
    clip = make_test_clip(tmp_path / "clip.mp4", duration=2.0, width=1280, height=720)
    (segment,) = split_segments(clip, tmp_path / "segs")
    answers: list[httpx.Response] = []
    with orchestrator_process(tmp_path, "o1") as node:
        job = threading.Thread(target=lambda: answers.append(httpx.post(
            f"{node.url}/transcode", params={"profiles": "720p,480p,360p", "job_id": "j", "segment": 0},
            content=segment.path.read_bytes(), headers={"content-type": "video/x-matroska"}, timeout=60,
        )))
        job.start()
        deadline = time.monotonic() + 30
        while httpx.get(f"{node.url}/info").json()["load"] == 0:  # the segment is in work: a fact, not a guess
            assert time.monotonic() < deadline and job.is_alive()
            time.sleep(0.02)
        stopped = time.monotonic()
        node.proc.send_signal(signal.SIGTERM)
        assert node.proc.wait(30) == 0, node.log_path.read_text()[-2000:]
        took = time.monotonic() - stopped
        job.join(30)
    (answer,) = answers
    assert answer.status_code == 200, "the segment in flight was finished, not dropped"
    print(f"the orchestrator stopped {took:.1f} s after SIGTERM")


def test_a_gateway_exits_0_on_sigterm_and_its_job_resumes(tmp_path: Path) -> None:
    clip = make_test_clip(tmp_path / "clip.mp4", duration=6.0, width=640, height=360)
    with orchestrator_process(tmp_path, "o1") as orch:
        with gateway_process(tmp_path, [orch.url]) as gw:
            with clip.open("rb") as fh:
                job = httpx.post(f"{gw.url}/jobs", files={"file": ("clip.mp4", fh, "video/mp4")}, data={"profiles": "240p"}).json()
            gw.proc.send_signal(signal.SIGTERM)
            assert gw.proc.wait(30) == 0, gw.log_path.read_text()[-2000:]
        with gateway_process(tmp_path, [orch.url]) as again:  # the same data directory
            deadline = time.monotonic() + 60
            while (state := httpx.get(f"{again.url}/jobs/{job['id']}").json()["state"]) not in ("completed", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert state == "completed"
