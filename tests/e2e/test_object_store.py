"""A gateway with `--object-store` in front of a real orchestrator (transcoding and a
tiny text-to-image model) and a real S3 server (SeaweedFS), all on loopback.

The outputs of a VOD job and of an AI request end up in the bucket byte for byte (their
C2PA manifests verify from the stored bytes); the playlists' URLs play, each segment
fetched through the URL given (a 307 to a presigned URL); with the store stopped a job
still completes and is served from disk, and once the store is back it is uploaded.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from framemesh.provenance.verify import read_provenance
from framemesh.sdk.client import GatewayClient
from tests.e2e.ai_nodes import SD, ai_orchestrator, write_models
from tests.e2e.clips import PROFILES
from tests.e2e.nodes import gateway_thread

pytest.importorskip("diffusers")

TIMEOUT = 180.0


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory, s3_server) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("object-store")
    bucket = s3_server.bucket(f"fm-{uuid.uuid4().hex[:12]}")
    orch = ai_orchestrator(root, "o1", write_models(root / "models", ("text-to-image",)))
    gw = gateway_thread(root, [orch.url], object_store=s3_server.location(bucket), object_store_retry_max=1.0)
    try:
        yield {"gateway": gw.url, "bucket": bucket, "s3": s3_server, "outputs": root / "gateway" / "outputs"}
    finally:
        gw.stop()
        orch.stop()


def _stored(network: dict[str, Any]) -> dict[str, bytes]:
    client = network["s3"].client()
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=network["bucket"])
            for o in page.get("Contents", [])]
    return {key: client.get_object(Bucket=network["bucket"], Key=key)["Body"].read() for key in keys}


def _on_disk(network: dict[str, Any], prefix: str) -> dict[str, bytes]:
    root: Path = network["outputs"]
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / prefix).rglob("*") if p.is_file()}


def _wait_stored(network: dict[str, Any], prefix: str, timeout: float = 60.0) -> dict[str, bytes]:
    """Until every output under `prefix` on disk is in the bucket; the bucket's copies."""
    deadline = time.monotonic() + timeout
    while True:
        local = _on_disk(network, prefix)
        stored = {k: v for k, v in _stored(network).items() if k.startswith(prefix)}
        if local and set(local) <= set(stored) or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)


def _transcode(gateway: str, clip: Path) -> Any:
    async def go() -> Any:
        async with GatewayClient(gateway) as client:
            accepted = await client.submit(clip, PROFILES)
            return await client.wait(accepted.id, timeout=TIMEOUT)

    return asyncio.run(go())


def _references(playlist: str) -> list[tuple[str, tuple[int, int] | None]]:
    """The media a rendition's playlist names, in order: (URI, (length, offset) or None),
    init sections (EXT-X-MAP) included; our fMP4 ladders name byte ranges of each file."""
    found: list[tuple[str, tuple[int, int] | None]] = []
    byterange: tuple[int, int] | None = None
    for line in playlist.splitlines():
        if line.startswith("#EXT-X-MAP:"):
            uri = re.search(r'URI="([^"]+)"', line)
            rng = re.search(r'BYTERANGE="(\d+)@(\d+)"', line)
            assert uri is not None
            found.append((uri.group(1), (int(rng.group(1)), int(rng.group(2))) if rng else None))
        elif line.startswith("#EXT-X-BYTERANGE:"):
            length, _, offset = line.split(":", 1)[1].partition("@")
            byterange = (int(length), int(offset or 0))
        elif line and not line.startswith("#"):
            found.append((line, byterange))
            byterange = None
    return found


def _play(url: str, endpoint: str) -> tuple[dict[str, bytes], int, int]:
    """Fetch a master playlist, its renditions' playlists and every piece of media they
    name, as a player does (relative URLs, byte ranges, redirects followed): the
    playlists and whole files by URL path, and how many media fetches there were and
    how many of them were a 307 to the object store."""
    fetched: dict[str, bytes] = {}
    media = redirected = 0
    with httpx.Client(follow_redirects=True, timeout=30) as http:
        def get(u: str, byterange: tuple[int, int] | None = None) -> bytes:
            nonlocal redirected
            headers = {"Range": f"bytes={byterange[1]}-{byterange[1] + byterange[0] - 1}"} if byterange else {}
            answer = http.get(u, headers=headers)
            assert answer.status_code == (206 if byterange else 200), (u, answer.status_code, answer.text[:200])
            if answer.history:
                assert [r.status_code for r in answer.history] == [307]
                assert str(answer.url).startswith(endpoint) and "X-Amz-Signature=" in str(answer.url)
                redirected += 1
            if byterange:
                assert len(answer.content) == byterange[0]
            return answer.content

        master = get(url).decode()
        fetched[httpx.URL(url).path] = master.encode()
        for variant in [line for line in master.splitlines() if line and not line.startswith("#")]:
            playlist_url = urljoin(url, variant)
            playlist = get(playlist_url).decode()
            fetched[httpx.URL(playlist_url).path] = playlist.encode()
            references = _references(playlist)
            assert references and "#EXTINF" in playlist
            for name, byterange in references:
                media_url = urljoin(playlist_url, name)
                piece = get(media_url, byterange)
                media += 1
                whole = http.get(media_url).content
                assert piece == (whole[byterange[1]:byterange[1] + byterange[0]] if byterange else whole)
                fetched[httpx.URL(media_url).path] = whole
    return fetched, media, redirected


def test_a_vod_ladder_is_stored_and_plays_from_the_store(network: dict[str, Any], clip: Path, tmp_path: Path) -> None:
    status = _transcode(network["gateway"], clip)
    assert status.state == "completed", status.error
    stored = _wait_stored(network, status.id + "/")
    local = _on_disk(network, status.id + "/")
    assert stored == local, "the store holds every output, byte for byte"
    assert any(k.endswith(".m3u8") for k in stored) and sum(k.endswith(".mp4") for k in stored) >= 6

    fetched, media, redirected = _play(f"{network['gateway']}{status.outputs.master}", network["s3"].endpoint)
    assert redirected == media >= 6, "every segment is fetched from the store"
    for path, data in fetched.items():
        assert data == stored[path.removeprefix("/outputs/")]
    # The API's list of outputs names the gateway's own (stable) URLs.
    assert set(status.outputs.files) == {f"/outputs/{k}" for k in stored}

    # A manifest verifies from the stored bytes (downloaded from the bucket, not the disk).
    key = next(k for k in sorted(stored) if re.search(r"/seg_\d+\.mp4$", k))
    copy = tmp_path / "from-store.mp4"
    copy.write_bytes(stored[key])
    verdict = read_provenance(copy)
    assert verdict.status in ("valid", "untrusted"), verdict.problems
    assert verdict.active is not None


def test_an_ai_output_is_stored_and_its_url_redirects_to_it(network: dict[str, Any], tmp_path: Path) -> None:
    body = {"prompt": "a red kite", "model_id": SD, "width": 64, "height": 64, "seed": 3,
            "num_inference_steps": 2, "num_images_per_prompt": 1}
    answer = httpx.post(f"{network['gateway']}/text-to-image", json=body, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    (image,) = answer.json()["images"]
    assert image["url"].startswith(network["gateway"] + "/outputs/ai/")
    key = image["url"].removeprefix(network["gateway"] + "/outputs/")
    stored = _wait_stored(network, key.rsplit("/", 1)[0] + "/")
    assert stored[key] == (network["outputs"] / key).read_bytes()

    fetched = httpx.get(image["url"], follow_redirects=True, timeout=30)
    assert [r.status_code for r in fetched.history] == [307] and fetched.content == stored[key]
    assert fetched.headers["content-type"] == "image/png"
    copy = tmp_path / "from-store.png"
    copy.write_bytes(stored[key])
    verdict = read_provenance(copy)
    assert verdict.status in ("valid", "untrusted"), verdict.problems
    assert verdict.active is not None and verdict.active.pipeline == "text-to-image"


def test_a_staged_jobs_results_are_stored(network: dict[str, Any]) -> None:
    gw = network["gateway"]
    stages = [{"pipeline": "text-to-image", "model_id": SD,
               "params": {"prompt": "a green boat", "width": 32, "height": 32, "num_inference_steps": 1, "seed": 1}}]
    accepted = httpx.post(f"{gw}/ai/jobs", json={"stages": stages}, timeout=30)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["id"]
    deadline = time.monotonic() + TIMEOUT
    while (job := httpx.get(f"{gw}/ai/jobs/{job_id}", timeout=10).json())["state"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "completed", job
    (image,) = job["outputs"]
    assert image["url"].startswith(f"/outputs/ai/{job_id}/stage-0/")
    key = image["url"].removeprefix("/outputs/")
    stored = _wait_stored(network, f"ai/{job_id}/")
    assert stored[key] == (network["outputs"] / key).read_bytes()
    fetched = httpx.get(gw + image["url"], follow_redirects=True, timeout=30)
    assert [r.status_code for r in fetched.history] == [307] and fetched.content == stored[key]


def test_with_the_store_down_a_job_completes_from_disk_and_is_uploaded_once_it_is_back(
    network: dict[str, Any], clip: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    server = network["s3"]
    server.stop()
    try:
        with caplog.at_level(logging.ERROR, logger="framemesh.gateway"):
            status = _transcode(network["gateway"], clip)
            wait = time.monotonic() + 30
            while "wait on local disk" not in caplog.text and time.monotonic() < wait:
                time.sleep(0.1)
        assert "the store is unreachable" in caplog.text and "wait on local disk" in caplog.text
        assert status.state == "completed", status.error
        master_url = f"{network['gateway']}{status.outputs.master}"
        fetched, media, redirected = _play(master_url, server.endpoint)
        assert media >= 6 and redirected == 0, "nothing is stored yet: all served from disk"
        assert all(data == (network["outputs"] / p.removeprefix("/outputs/")).read_bytes() for p, data in fetched.items())
    finally:
        server.start()
    stored = _wait_stored(network, status.id + "/")
    assert stored == _on_disk(network, status.id + "/"), "uploaded after the store came back, byte for byte"
    deadline = time.monotonic() + 30
    while True:  # the gateway marks each upload done just after the PUT: then it redirects
        _, media, redirected = _play(master_url, server.endpoint)
        if redirected == media or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert redirected == media >= 6


def test_a_live_streams_segments_and_recording_are_stored_and_play_from_the_store(
    network: dict[str, Any], clip: Path, tmp_path: Path,
) -> None:
    from tests.e2e.live import status, stream, ts_segments, wait_for

    gw = network["gateway"]
    s = stream(gw, record=True)
    pieces = ts_segments(clip, tmp_path / "ts")
    for n, path in enumerate(pieces):
        pushed = httpx.put(f"{s['push_url']}/{n}.ts", content=path.read_bytes(), timeout=60)
        assert pushed.status_code == 201, pushed.text
    # Every pushed segment listed, or (on a loaded machine) skipped past its deadline.
    counts = wait_for("the pushed segments listed", lambda: (c := status(gw, s["id"])["segments"])["listed"]
                      + c["skipped"] == len(pieces) and c, timeout=120)
    listed = counts["listed"]
    assert listed >= len(pieces) - 1, counts
    live = _wait_stored(network, f"live/{s['id']}/")
    assert sum(k.endswith(".mp4") for k in live) >= listed, "each listed segment goes to the store"
    _, media, redirected = _play(s["playback_url"], network["s3"].endpoint)
    assert redirected == media >= listed, "the live playlists (from the gateway) name segments in the store"

    ended = httpx.delete(f"{gw}/streams/{s['id']}", timeout=120).json()
    assert ended["recording_url"], ended
    stored = _wait_stored(network, f"live/{s['id']}/recording/")
    assert stored == _on_disk(network, f"live/{s['id']}/recording/")
    fetched, media, redirected = _play(ended["recording_url"], network["s3"].endpoint)
    assert redirected == media >= listed
