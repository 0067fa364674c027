"""The CLI says what is wrong in one line and exits non-zero."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def framemesh(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framemesh", *args], capture_output=True, text=True, timeout=300, cwd=cwd
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


def test_orchestrator_refuses_an_unknown_profile() -> None:
    result = framemesh("orchestrator", "start", "--profiles", "720p,9000p")
    assert result.returncode == 2
    assert "9000p" in result.stderr


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = framemesh("demo", "--duration", "4", "--profiles", "360p,240p", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "orchestrator-1" in result.stdout and "orchestrator-2" in result.stdout
    master = tmp_path / "out" / "master.m3u8"
    assert master.is_file()
    assert str(master.resolve()) in result.stdout
    assert (tmp_path / "out" / "360p" / "index.m3u8").is_file()
