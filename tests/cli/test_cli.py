"""The CLI says what is wrong in one line and exits non-zero."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def framemesh(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framemesh", *args], capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )


def test_help_lists_the_commands() -> None:
    result = framemesh("--help")
    assert result.returncode == 0
    for command in ("orchestrator", "gateway", "transcode", "demo"):
        assert command in result.stdout


def test_transcode_missing_file(tmp_path: Path) -> None:
    result = framemesh("transcode", str(tmp_path / "nope.mp4"), "--gateway", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_transcode_unreachable_gateway(tmp_path: Path) -> None:
    f = tmp_path / "a.mp4"
    f.write_bytes(b"x")
    result = framemesh("transcode", str(f), "--gateway", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach the gateway" in result.stderr
    assert "Traceback" not in result.stderr


def test_gateway_refuses_a_bad_orchestrator_url() -> None:
    result = framemesh("gateway", "start", "--orchestrator", "ftp://x")
    assert result.returncode == 2
    assert "not an http(s) URL" in result.stderr


def test_gateway_says_when_its_database_cannot_be_reached(tmp_path: Path) -> None:
    result = framemesh("gateway", "start", "--orchestrator", "http://127.0.0.1:9", "--open", "--data-dir", str(tmp_path),
                       "--database", "postgresql://gw:hunter2@127.0.0.1:9/records")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "cannot connect to postgresql://gw:***@127.0.0.1:9/records" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_gateway_refuses_a_bad_object_store() -> None:
    result = framemesh("gateway", "start", "--orchestrator", "http://127.0.0.1:9", "--open",
                       "--object-store", "s3://Bad_Bucket?endpoint=http://127.0.0.1:9")
    assert result.returncode == 2
    assert "object_store" in result.stderr and "not a valid S3 bucket name" in result.stderr
    assert "Traceback" not in result.stderr


def test_orchestrator_refuses_an_unknown_profile() -> None:
    result = framemesh("orchestrator", "start", "--profiles", "720p,9000p")
    assert result.returncode == 2
    assert "9000p" in result.stderr


def test_demo_can_leave_the_ai_jobs_out(tmp_path: Path) -> None:
    result = framemesh("demo", "--no-ai", "--duration", "2", "--profiles", "240p", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "master.m3u8").is_file(), "the transcode still ran"
    assert "AI jobs through the gateway" not in result.stdout and not (tmp_path / "out" / "ai").exists()
    assert "live AI" not in result.stdout, "no AI models: no live AI stream either"
    header = next(line for line in result.stdout.splitlines() if "┃ orchestrator" in line)
    assert "AI jobs" not in header


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = framemesh("demo", "--duration", "4", "--profiles", "360p,240p", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "orchestrator-1" in result.stdout and "orchestrator-2" in result.stdout
    master = tmp_path / "out" / "master.m3u8"
    assert master.is_file()
    assert str(master.resolve()) in result.stdout
    assert (tmp_path / "out" / "360p" / "index.m3u8").is_file()
    _check_live_part(tmp_path / "out" / "live", result.stdout)
    _check_ai_part(tmp_path / "out" / "ai", result.stdout)


def _check_live_part(live: Path, stdout: str) -> None:
    """The demo's live stream went through the network, every segment of it, and was recorded."""
    import re

    found = re.search(r"live: (\d+) of (\d+) segments listed, (\d+) skipped; latency .* median ([\d.]+) s", stdout)
    assert found, stdout[-2000:]
    listed, received, skipped = (int(found.group(i)) for i in (1, 2, 3))
    assert listed == received == 2 and skipped == 0
    vod = (live / "360p" / "index.m3u8").read_text()
    assert vod.count("#EXTINF") == 2 and "#EXT-X-ENDLIST" in vod
    header = next(line for line in stdout.splitlines() if "┃ orchestrator" in line)
    assert "live segments" in header
    # and a live AI stream: the same clip through the tiny SD as it plays
    found = re.search(r"live AI: (\d+) of (\d+) segments listed, (\d+) skipped", stdout)
    assert found and found.group(1) == found.group(2) == "2" and found.group(3) == "0", stdout[-2000:]
    assert re.search(r"live AI \(framemesh/tiny-sd\): [\d.]+ of [\d.]+ fps through the model", stdout), stdout[-2000:]


def _check_ai_part(ai: Path, stdout: str) -> None:
    """The demo's AI jobs went through the network and their outputs are real."""
    import hashlib
    import os

    from framemesh.cli.demo_ai import SENTENCE, missing_ai_modules

    if missing_ai_modules():
        assert not os.environ.get("FRAMEMESH_REQUIRE_AI"), missing_ai_modules()
        assert "AI jobs skipped: the 'ai' extra is not installed" in stdout
        return
    from PIL import Image

    from framemesh.provenance.verify import read_provenance

    # speech and back: most of the sentence's words come back as text
    heard = stdout.split('heard: "', 1)[1].split('"', 1)[0]
    spoken = {w.strip(".").lower() for w in SENTENCE.split()}
    assert len(spoken & set(heard.split())) >= 0.7 * len(spoken), heard
    assert (ai / "speech.wav").read_bytes()[:4] == b"RIFF"
    # the tiny SD image, upscaled 2x by Real-ESRGAN, and its video
    with Image.open(ai / "image.png") as image, Image.open(ai / "upscaled.png") as upscaled:
        assert upscaled.size == (2 * image.width, 2 * image.height)
    assert "nsfw: no" in stdout
    assert (ai / "video.mp4").stat().st_size > 0
    # the upscaled image's manifest: intact, an orchestrator's, made from that image
    verdict = read_provenance(ai / "upscaled.png")  # the demo's CA is gone: intact, but untrusted here
    assert verdict.status == "untrusted", verdict.problems
    assert verdict.active is not None and verdict.active.pipeline == "upscale"
    assert hashlib.sha256((ai / "image.png").read_bytes()).hexdigest() in verdict.active.ingredient_sha256
    assert "provenance of" in stdout and ": valid — signed by orchestrator-" in stdout
    assert "its ingredient is the text-to-image output" in stdout
    # and the orchestrators did the five of them, for fees (and the live AI stream's two
    # segments: each is an AI job to the orchestrator that made it)
    header = next(line for line in stdout.splitlines() if "┃ orchestrator" in line).split("┃")
    rows = [line.split("│") for line in stdout.splitlines() if line.startswith("│ orchestrator-")]
    column = {cell.strip(): i for i, cell in enumerate(header)}
    jobs, fees = column["AI jobs"], column["AI fees"]
    assert sum(int(row[jobs]) for row in rows) == 5 + 2
    assert any(row[fees].strip() not in ("0 gwei", "") for row in rows)
