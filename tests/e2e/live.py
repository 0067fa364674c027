"""Live streams in end-to-end tests: a real encoder (Debian's ffmpeg command line) and
a real browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        pytest.fail("the ffmpeg command line is missing: scripts/setup-env installs Debian's ffmpeg")
    return found


def push(clip: Path, rtmp_url: str, *extra: str) -> subprocess.Popen[str]:
    """Send `clip` in real time over RTMP, as OBS or a camera would."""
    return subprocess.Popen(
        [ffmpeg(), "-hide_banner", "-loglevel", "error", "-re", "-i", str(clip), *extra, "-c", "copy", "-f", "flv", rtmp_url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def ts_segments(clip: Path, out: Path, seconds: float = 2.0) -> list[Path]:
    """Cut `clip` into MPEG-TS segments on its keyframes, as a self-segmenting encoder does."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [ffmpeg(), "-hide_banner", "-loglevel", "error", "-i", str(clip), "-c", "copy", "-f", "segment",
         "-segment_time", str(seconds), "-segment_format", "mpegts", str(out / "%03d.ts")],
        check=True,
    )
    return sorted(out.glob("*.ts"))


def stream(gateway: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(f"{gateway}/streams", json={"profiles": "360p,240p", **body}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def status(gateway: str, stream_id: str) -> dict[str, Any]:
    return httpx.get(f"{gateway}/streams/{stream_id}", timeout=30).json()  # type: ignore[no-any-return]


def wait_for(what: str, check: Any, timeout: float = 60.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(every)


@contextmanager
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (never its own download)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is missing: scripts/setup-env installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=executable, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            yield b
        finally:
            b.close()


def play(b: Any, player_url: str, shot: Path, timeout_ms: int = 60_000) -> Any:
    """Open the player page, wait until the video has played 2 s, screenshot it to
    `shot` (kept at $FRAMEMESH_KEEP_SCREENSHOTS too, to look at); returns the page."""
    import os

    page = b.new_page()
    page.goto(player_url)
    page.wait_for_function("() => window.framemesh && window.framemesh.started", timeout=timeout_ms)
    page.wait_for_function("() => document.querySelector('video').currentTime > 2", timeout=timeout_ms)
    page.screenshot(path=str(shot))
    if os.environ.get("FRAMEMESH_KEEP_SCREENSHOTS"):
        Path(os.environ["FRAMEMESH_KEEP_SCREENSHOTS"]).write_bytes(shot.read_bytes())
    return page
