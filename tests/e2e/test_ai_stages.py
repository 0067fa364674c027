"""Staged AI jobs through a gateway and two orchestrators on loopback, tiny real models:
each stage's output is the next stage's input, the stages run on different nodes, the
provenance of the last output carries every stage's manifest, and a gateway that
stops mid-job carries the job on when it starts again."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from framemesh.provenance.verify import read_provenance
from tests.e2e.ai_nodes import PIPER, SD, SPHINX, ai_orchestrator, failing_orchestrator, write_models
from tests.e2e.nodes import gateway_thread

pytest.importorskip("diffusers")
pytest.importorskip("piper")

TIMEOUT = 180.0


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """o1 makes (text-to-image, image-to-video, text-to-speech); o2 reworks (upscale, audio-to-text, mux)."""
    root = tmp_path_factory.mktemp("ai-stages")
    o1 = ai_orchestrator(root, "o1", write_models(root / "m1", ("text-to-image", "image-to-video", "text-to-speech")))
    o2 = ai_orchestrator(root, "o2", write_models(root / "m2", ("upscale", "audio-to-text", "mux")))
    try:
        yield {"root": root, "o1": o1.url, "o2": o2.url}
    finally:
        o1.stop()
        o2.stop()


def _wait(gateway: str, job_id: str, until: tuple[str, ...] = ("completed", "failed")) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        status = httpx.get(f"{gateway}/ai/jobs/{job_id}", timeout=10).json()
        if status["state"] in until:
            return status
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {status['state']} after {TIMEOUT} s: {status}")


def _size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(data)).size


def test_layered_generation_runs_its_stages_on_different_nodes(nodes: dict[str, Any], tmp_path: Path) -> None:
    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        stages = [
            {"pipeline": "text-to-image", "model_id": SD,
             "params": {"prompt": "a lighthouse at dusk", "width": 64, "height": 48, "num_inference_steps": 2, "seed": 11}},
            {"pipeline": "upscale", "model_id": "realesrgan/x2"},
        ]
        accepted = httpx.post(f"{gw.url}/ai/jobs", json={"stages": stages}, timeout=30)
        assert accepted.status_code == 202, accepted.text
        job = _wait(gw.url, accepted.json()["id"])
        assert job["state"] == "completed", job
        first, second = job["stages"]
        assert (first["orchestrator"], second["orchestrator"]) == (nodes["o1"], nodes["o2"])
        assert job["progress"] == 1.0 and first["units"] == 64 * 48 and second["units"] == 64 * 48
        small = httpx.get(gw.url + first["outputs"][0]["url"], timeout=10).content
        (final,) = job["outputs"]
        big = httpx.get(gw.url + final["url"], timeout=10).content
        assert _size(small) == (64, 48) and _size(big) == (128, 96)

        path = tmp_path / "final.png"
        path.write_bytes(big)
        verdict = read_provenance(path)
        assert verdict.status in ("valid", "untrusted"), verdict.problems
        by_pipeline = {m.pipeline: m for m in verdict.manifests}
        assert set(by_pipeline) == {"text-to-image", "upscale"}, "the chain of ingredients reaches the first stage"
        assert by_pipeline["upscale"].job_id == f"{job['id']}-1" and by_pipeline["text-to-image"].job_id == f"{job['id']}-0"
        assert (by_pipeline["text-to-image"].signer, by_pipeline["upscale"].signer) == ("o1", "o2"), "two orchestrators signed"
    finally:
        gw.stop()


def test_the_design_example_a_narrated_clip_made_on_two_nodes(nodes: dict[str, Any], tmp_path: Path) -> None:
    """text-to-image → image-to-video → upscale, with text-to-speech audio muxed in."""
    import av

    from framemesh.ai.media import decode_audio, video_info

    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        stages = [
            {"pipeline": "text-to-image", "model_id": SD,
             "params": {"prompt": "a lighthouse", "width": 32, "height": 32, "num_inference_steps": 1, "seed": 3}},
            {"pipeline": "image-to-video", "model_id": "framemesh/tiny-svd",
             "params": {"width": 32, "height": 32, "num_inference_steps": 1, "fps": 4, "seed": 3}},
            {"id": "big", "pipeline": "upscale", "model_id": "realesrgan/x2"},
            {"id": "voice", "pipeline": "text-to-speech", "model_id": PIPER, "params": {"text": "The lighthouse at dusk."}},
            {"pipeline": "mux", "model_id": "framemesh/mux", "inputs": {"video": "big", "audio": "voice"}},
        ]
        accepted = httpx.post(f"{gw.url}/ai/jobs", json={"stages": stages}, timeout=30)
        assert accepted.status_code == 202, accepted.text
        job = _wait(gw.url, accepted.json()["id"])
        assert job["state"] == "completed", job
        assert [s["orchestrator"] for s in job["stages"]] == [nodes["o1"], nodes["o1"], nodes["o2"], nodes["o1"], nodes["o2"]]
        (final,) = job["outputs"]
        path = tmp_path / "narrated.mp4"
        path.write_bytes(httpx.get(gw.url + final["url"], timeout=10).content)
        clip = httpx.get(gw.url + job["stages"][1]["outputs"][0]["url"], timeout=10).content
        frames = video_info(clip)
        info = video_info(path.read_bytes())
        assert (info.width, info.height) == (frames.width * 2, frames.height * 2), "the upscaled clip"
        speech = decode_audio(httpx.get(gw.url + job["stages"][3]["outputs"][0]["url"], timeout=10).content).duration
        with av.open(str(path)) as container:
            kinds = {s.type for s in container.streams}
        assert kinds == {"video", "audio"}
        assert info.duration == pytest.approx(max(speech, frames.duration), abs=0.3), "the last frame held for the speech"

        verdict = read_provenance(path)
        assert verdict.status in ("valid", "untrusted"), verdict.problems
        pipelines = {m.pipeline for m in verdict.manifests}
        assert pipelines == {"mux", "upscale", "image-to-video", "text-to-image", "text-to-speech"}, pipelines
    finally:
        gw.stop()


def test_a_graph_runs_its_branches_and_returns_every_result(nodes: dict[str, Any], tmp_path: Path) -> None:
    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        stages = [
            {"id": "picture", "pipeline": "text-to-image", "model_id": SD,
             "params": {"prompt": "a green boat", "width": 32, "height": 32, "num_inference_steps": 1, "seed": 1}},
            {"id": "voice", "pipeline": "text-to-speech", "model_id": PIPER, "params": {"text": "Seven green boats sail north."}},
            {"pipeline": "upscale", "model_id": "realesrgan/x2", "inputs": {"image": "picture"}},
            {"pipeline": "audio-to-text", "model_id": SPHINX, "inputs": {"audio": "voice"}},
        ]
        accepted = httpx.post(f"{gw.url}/ai/jobs", json={"stages": stages}, timeout=30)
        assert accepted.status_code == 202, accepted.text
        job = _wait(gw.url, accepted.json()["id"])
        assert job["state"] == "completed", job
        assert [s["orchestrator"] for s in job["stages"]] == [nodes["o1"], nodes["o1"], nodes["o2"], nodes["o2"]]
        heard = job["text"].lower()
        # Piper's voice draws random noise in its model (unseeded), so what PocketSphinx hears
        # varies from run to run ("the big green book sale more"): some of the words, not all.
        assert sum(word in heard for word in ("seven", "green", "boats", "north")) >= 1, heard
        assert job["stages"][3]["units"] > 1000, "billed per millisecond of the spoken audio"
        (image,) = job["outputs"]  # the upscale's; audio-to-text's result is the text
        assert image["url"].endswith("stage-2/image-0.png")
        assert _size(httpx.get(gw.url + image["url"], timeout=10).content) == (64, 64)
    finally:
        gw.stop()


def test_a_job_survives_a_gateway_restart(nodes: dict[str, Any], tmp_path: Path) -> None:
    from framemesh.ai.media import video_info

    stages = [
        {"pipeline": "text-to-image", "model_id": SD,
         "params": {"prompt": "a red kite", "width": 64, "height": 64, "num_inference_steps": 2, "seed": 4}},
        {"pipeline": "image-to-video", "model_id": "framemesh/tiny-svd",
         "params": {"width": 64, "height": 64, "num_inference_steps": 200, "fps": 4, "seed": 4}},
        {"pipeline": "upscale", "model_id": "realesrgan/x2"},
    ]
    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        job_id = httpx.post(f"{gw.url}/ai/jobs", json={"stages": stages}, timeout=30).json()["id"]
        # Mid-job is a fact, not a guess: stage 1 reports denoising steps done, and not all.
        _wait_for(gw.url, job_id, lambda j: j["stages"][1]["state"] == "running" and 0 < j["stages"][1]["progress"] < 1)
    finally:
        gw.stop()  # the runner is cancelled, the store keeps where it stood
    at_stop = _recorded(tmp_path, job_id)  # what the stopped gateway left on disk
    assert at_stop.stages[0].state.value == "done" and at_stop.stages[1].state.value == "running", at_stop

    again = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])  # same data directory
    try:
        job = _wait(again.url, job_id)
        assert job["state"] == "completed", job
        assert job["stages"][0]["attempts"] == 1, "a done stage is not run again"
        assert job["stages"][1]["attempts"] == at_stop.stages[1].attempts + 1, "the interrupted stage ran again, once"
        info = video_info(httpx.get(again.url + job["outputs"][0]["url"], timeout=10).content)
        assert (info.width, info.height) == (128, 128), "the clip, upscaled"
    finally:
        again.stop()


def test_an_uploaded_input_survives_a_restart_before_its_stage_ran(nodes: dict[str, Any], tmp_path: Path) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 32), (30, 90, 200)).save(buf, format="PNG")
    stages = [{"pipeline": "upscale", "model_id": "realesrgan/x2"}, {"pipeline": "upscale", "model_id": "realesrgan/x2"}]
    # The first gateway knows only a node that is always full: the job is accepted and
    # stored, and its first stage can only wait.
    full = failing_orchestrator("upscale", "realesrgan/x2", how="busy")
    gw = gateway_thread(tmp_path, [full.url])
    try:
        accepted = httpx.post(
            f"{gw.url}/ai/jobs", data={"stages": json.dumps(stages)}, files={"image": ("in.png", buf.getvalue(), "image/png")},
            timeout=30,
        )
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["id"]
    finally:
        gw.stop()
        full.stop()
    at_stop = _recorded(tmp_path, job_id)
    assert [s.orchestrator for s in at_stop.stages] == [None, None] and at_stop.uploads is not None, at_stop

    again = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        job = _wait(again.url, job_id)
        assert job["state"] == "completed", job
        assert job["stages"][0]["orchestrator"] in (nodes["o1"], nodes["o2"]), "stage 0 ran after the restart"
        assert _size(httpx.get(again.url + job["outputs"][0]["url"], timeout=10).content) == (160, 128)
    finally:
        again.stop()
    assert not at_stop.uploads.exists(), "the upload is deleted once the job has ended"


def _recorded(root: Path, job_id: str) -> Any:
    """The job as the gateway's file holds it (read with the gateway stopped)."""
    from framemesh.gateway.ai.store import AIJobStore

    store = AIJobStore(root / "gateway" / "gateway.sqlite")
    try:
        return store.job(job_id)
    finally:
        store.close()


def _wait_for(url: str, job_id: str, ready: Any, timeout: float = TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(f"{url}/ai/jobs/{job_id}", timeout=10).json()
        if ready(job):
            return job
        assert job["state"] in ("queued", "running") and time.monotonic() < deadline, f"never got there: {job}"
        time.sleep(0.05)


def test_livepeer_requests_are_recorded_as_jobs(nodes: dict[str, Any], tmp_path: Path) -> None:
    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        body = {"prompt": "a teapot", "model_id": SD, "width": 64, "height": 64, "num_inference_steps": 1, "seed": 2}
        answer = httpx.post(f"{gw.url}/text-to-image", json=body, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        (job,) = httpx.get(f"{gw.url}/ai/jobs", timeout=10).json()
        assert (job["kind"], job["state"], job["stages"][0]["orchestrator"]) == ("request", "completed", nodes["o1"])
        assert answer.json()["images"][0]["url"].endswith(job["outputs"][0]["url"])
    finally:
        gw.stop()


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"stages": [{"pipeline": "upscale", "model_id": "realesrgan/x2"}]}, 422, "stages[0] (upscale) needs image or video: upload it"),
        ({"stages": [{"pipeline": "text-to-image", "model_id": "nobody/serves-this", "params": {"prompt": "x"}}]}, 404, "no orchestrator serves"),
        ({"stages": [{"pipeline": "text-to-image", "model_id": SD, "params": {"prompt": "x", "width": 63}}]}, 422, "stages[0] (text-to-image): width must be a multiple of 8"),
        ({"stages": [{"pipeline": "text-to-speech", "model_id": PIPER, "params": {"text": "hi"}},
                     {"pipeline": "audio-to-text", "model_id": SPHINX, "params": {"return_timestamps": "maybe"}}]},
         422, "stages[1] (audio-to-text): return_timestamps must be"),
        ({"stages": "text-to-image"}, 422, "non-empty list"),
    ],
)
def test_bad_jobs_are_refused_before_any_work(nodes: dict[str, Any], tmp_path: Path, body: dict[str, Any], status: int, words: str) -> None:
    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        response = httpx.post(f"{gw.url}/ai/jobs", json=body, timeout=30)
        assert response.status_code == status, response.text
        assert words in response.json()["detail"]["msg"]
        assert httpx.get(f"{gw.url}/ai/jobs", timeout=10).json() == [], "nothing was accepted"
    finally:
        gw.stop()


def test_the_cli_runs_a_staged_job_with_progress_and_downloads_it(nodes: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from framemesh.cli.main import app

    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        result = CliRunner().invoke(app, [
            "ai", "run", "--gateway", gw.url, "--out", str(tmp_path / "out"),
            "--stage", f'text-to-image@{SD} prompt="a kite" width=32 height=24 num_inference_steps=1 seed=9',
            "--stage", "upscale@realesrgan/x2",
        ])
        assert result.exit_code == 0, result.output
        (png,) = (tmp_path / "out").rglob("*.png")
        assert _size(png.read_bytes()) == (64, 48)
        assert "completed" in result.output and str(png) in result.output.replace("\n", "")
        job_id = httpx.get(f"{gw.url}/ai/jobs", timeout=10).json()[0]["id"]  # newest first
        shown = CliRunner().invoke(app, ["ai", "status", job_id, "--gateway", gw.url])
        assert shown.exit_code == 0 and nodes["o2"] in shown.output and "upscale" in shown.output
        listed = CliRunner().invoke(app, ["ai", "jobs", "--gateway", gw.url])
        assert listed.exit_code == 0 and "text-to-image → upscale" in listed.output
    finally:
        gw.stop()


def test_a_running_stage_reports_its_denoising_progress(
    nodes: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from framemesh.gateway.ai import dispatch as ai_dispatch

    monkeypatch.setattr(ai_dispatch, "PROGRESS_INTERVAL", 0.05)  # read often: the tiny model is quick
    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        stages = [{"pipeline": "text-to-image", "model_id": SD,
                   "params": {"prompt": "a slow boat", "width": 64, "height": 64, "num_inference_steps": 150, "seed": 8}}]
        job_id = httpx.post(f"{gw.url}/ai/jobs", json={"stages": stages}, timeout=30).json()["id"]
        seen: list[float] = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            status = httpx.get(f"{gw.url}/ai/jobs/{job_id}", timeout=10).json()
            if status["state"] in ("completed", "failed"):
                break
            seen.append(status["stages"][0]["progress"])
            time.sleep(0.02)
        assert status["state"] == "completed" and status["progress"] == 1.0
        partial = [p for p in seen if 0 < p < 1]
        assert partial, f"no progress between 0 and 1 was reported: {seen[:5]}…{seen[-5:]}"
        assert partial == sorted(partial), "progress only goes forward"
        missing = httpx.get(f"{nodes['o1']}/ai/progress/{job_id}-0", timeout=10)
        assert missing.status_code == 404 and missing.json()["detail"]["code"] == "not_running"
    finally:
        gw.stop()


def test_a_repeated_request_is_answered_by_the_gateway_from_its_checked_outputs(nodes: dict[str, Any], tmp_path: Path) -> None:
    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        def jobs_done() -> int:
            return int(httpx.get(f"{nodes['o1']}/stats", timeout=10).json()["ai"]["jobs_done"])

        body = {"prompt": "a quiet harbour", "model_id": SD, "width": 32, "height": 32, "num_inference_steps": 1, "seed": 21}
        first = httpx.post(f"{gw.url}/text-to-image", json=body, timeout=TIMEOUT)
        assert first.status_code == 200, first.text
        before = jobs_done()
        again = httpx.post(f"{gw.url}/text-to-image", json=body, timeout=TIMEOUT)
        assert again.status_code == 200, again.text
        assert again.json() == first.json(), "the same outputs, served again"
        assert jobs_done() == before, "no orchestrator ran it"
        other = httpx.post(f"{gw.url}/text-to-image", json={**body, "seed": 22}, timeout=TIMEOUT)
        assert other.json()["images"][0]["url"] != first.json()["images"][0]["url"]
        assert jobs_done() == before + 1, "another seed is another request"
        unseeded = {k: v for k, v in body.items() if k != "seed"}
        for _ in range(2):
            assert httpx.post(f"{gw.url}/text-to-image", json=unseeded, timeout=TIMEOUT).status_code == 200
        assert jobs_done() == before + 3, "without a seed the client asks for a new image each time"
        recorded = httpx.get(f"{gw.url}/ai/jobs", timeout=10).json()
        assert len(recorded) == 5, "a cache hit is recorded as a job too"
        assert all(j["state"] == "completed" for j in recorded)

        stages = [{"pipeline": "text-to-image", "model_id": SD, "params": {k: v for k, v in body.items() if k != "model_id"}},
                  {"pipeline": "upscale", "model_id": "realesrgan/x2"}]
        job = _wait(gw.url, httpx.post(f"{gw.url}/ai/jobs", json={"stages": stages}, timeout=30).json()["id"])
        assert job["state"] == "completed" and jobs_done() == before + 3, "a stage reuses the same answer"
        assert job["stages"][0]["outputs"][0]["url"] == "/" + first.json()["images"][0]["url"].split("/", 3)[3]
    finally:
        gw.stop()


def test_openapi_describes_the_ai_job_routes(nodes: dict[str, Any], tmp_path: Path) -> None:
    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        spec = httpx.get(f"{gw.url}/openapi.json", timeout=10).json()
        body = spec["paths"]["/ai/jobs"]["post"]["requestBody"]["content"]
        assert set(body["multipart/form-data"]["schema"]["properties"]) == {"stages", "image", "audio", "video"}
        assert body["application/json"]["schema"]["required"] == ["stages"]
        status = spec["paths"]["/ai/jobs/{job_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert status["$ref"].endswith("/AIJobStatus")
        assert "progress" in spec["components"]["schemas"]["AIStageStatus"]["properties"]
    finally:
        gw.stop()


def test_a_cancelled_job_starts_no_further_stage_and_stays_cancelled(nodes: dict[str, Any], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from framemesh.cli.main import app

    stages = [
        {"pipeline": "text-to-image", "model_id": SD,
         "params": {"prompt": "a long wait", "width": 96, "height": 96, "num_inference_steps": 200, "seed": 31}},
        {"pipeline": "upscale", "model_id": "realesrgan/x2"},
    ]
    gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])
    try:
        job_id = httpx.post(f"{gw.url}/ai/jobs", json={"stages": stages}, timeout=30).json()["id"]
        _wait(gw.url, job_id, until=("running", "completed", "failed"))
        result = CliRunner().invoke(app, ["ai", "cancel", job_id, "--gateway", gw.url])
        assert result.exit_code == 0, result.output
        job = httpx.get(f"{gw.url}/ai/jobs/{job_id}", timeout=10).json()
        assert job["state"] == "cancelled" and job["error"] == "cancelled by its client"
        assert job["stages"][-1]["state"] == "failed" and job["outputs"] == [], "the upscale never ran"
        assert all(s["state"] in ("done", "failed") for s in job["stages"])
        again = httpx.delete(f"{gw.url}/ai/jobs/{job_id}", timeout=10)
        assert again.status_code == 409 and again.json()["detail"]["code"] == "ended"
        assert httpx.delete(f"{gw.url}/ai/jobs/nope", timeout=10).status_code == 404
    finally:
        gw.stop()
    again_gw = gateway_thread(tmp_path, [nodes["o1"], nodes["o2"]])  # a restart does not resume it
    try:
        # The gateway serves only once its start-up (and so its resume) is over: whatever
        # it resubmitted is in its runner by now.
        assert job_id not in again_gw.app.state.gateway.ai_runner._tasks, "the cancelled job was resubmitted"
        after = httpx.get(f"{again_gw.url}/ai/jobs/{job_id}", timeout=10).json()
        assert after["state"] == "cancelled"
        assert [s["attempts"] for s in after["stages"]] == [s["attempts"] for s in job["stages"]]
    finally:
        again_gw.stop()
