"""An asyncio client for a framemesh gateway: submit a video, follow the job, fetch the ladder."""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path
from typing import Callable

import httpx

from framemesh.wire.gateway import JobAccepted, JobStatus
from framemesh.net.client import make_client

TERMINAL = ("completed", "failed")


class GatewayRequestError(Exception):
    """The gateway refused a request or could not be reached; the message says why."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    msg, code = response.reason_phrase, None
    try:
        detail = response.json().get("detail")
        if isinstance(detail, dict):
            msg, code = str(detail.get("msg", msg)), detail.get("code")
        elif detail:
            msg = str(detail)
    except ValueError:
        pass
    raise GatewayRequestError(f"gateway answered {response.status_code}: {msg}", response.status_code, code)


class GatewayClient:
    def __init__(self, base_url: str, *, timeout: float = 300.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = make_client(base_url=self.base_url, timeout=timeout)

    async def __aenter__(self) -> "GatewayClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        try:
            response = await self._http.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise GatewayRequestError(f"cannot reach the gateway at {self.base_url}: {exc or type(exc).__name__}") from exc
        _raise_for(response)
        return response

    async def submit(self, video: Path, profiles: str | None = None) -> JobAccepted:
        """Upload `video`; returns as soon as the gateway has accepted the job."""
        content_type = mimetypes.guess_type(video.name)[0] or "application/octet-stream"
        if not content_type.startswith("video/"):
            content_type = "application/octet-stream"
        data = {"profiles": profiles} if profiles else {}
        with video.open("rb") as fh:
            response = await self._request(
                "POST", "/jobs", files={"file": (video.name, fh, content_type)}, data=data
            )
        return JobAccepted.model_validate_json(response.content)

    async def status(self, job_id: str) -> JobStatus:
        response = await self._request("GET", f"/jobs/{job_id}")
        return JobStatus.model_validate_json(response.content)

    async def wait(
        self,
        job_id: str,
        *,
        on_progress: Callable[[JobStatus], None] | None = None,
        interval: float = 0.25,
        timeout: float | None = None,
    ) -> JobStatus:
        """Poll until the job completes or fails."""
        async with asyncio.timeout(timeout):
            while True:
                status = await self.status(job_id)
                if on_progress:
                    on_progress(status)
                if status.state in TERMINAL:
                    return status
                await asyncio.sleep(interval)

    async def download(
        self, status: JobStatus, out_dir: Path, *, on_file: Callable[[str], None] | None = None
    ) -> Path:
        """Fetch every file of a completed job's ladder; returns the local master playlist."""
        if status.outputs is None:
            raise GatewayRequestError(f"job {status.id} has no outputs (state {status.state})")
        prefix = f"/outputs/{status.id}/"
        out_dir.mkdir(parents=True, exist_ok=True)
        for url in status.outputs.files:
            if not url.startswith(prefix):
                raise GatewayRequestError(f"unexpected output path {url}")
            rel = Path(url[len(prefix):])
            if rel.is_absolute() or ".." in rel.parts:
                raise GatewayRequestError(f"unsafe output path {url}")
            target = out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            response = await self._request("GET", url)
            target.write_bytes(response.content)
            if on_file:
                on_file(url)
        return out_dir / Path(status.outputs.master[len(prefix):])
