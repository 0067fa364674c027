"""An asyncio client for a framemesh gateway: submit a video, follow the job, fetch the
ladder; run AI jobs through the gateway's Livepeer-compatible AI API and fetch their
outputs.

    async with GatewayClient("http://127.0.0.1:8936") as gw:
        speech = await gw.text_to_speech("Hello there.", model_id="piper/en_US-joe-medium")
        wav = await gw.fetch(speech.audio.url, Path("hello.wav"))
        heard = await gw.audio_to_text(wav)                  # TextResponse: .text, .chunks
        image = await gw.text_to_image("a lighthouse", width=256, height=256, seed=7)
        bigger = await gw.upscale(await gw.fetch(image.images[0].url, Path("a.png")))

Every method raises GatewayRequestError with the gateway's message (and its `code`).
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx

from framemesh.net.client import make_client
from framemesh.wire.ai import AudioResponse, ImageResponse, TextResponse
from framemesh.wire.gateway import AIJobAccepted, AIJobStatus, JobAccepted, JobStatus, ScoreHistoryOut, ScoresOut
from framemesh.wire.keys import KeyCreate, KeyCreated, KeyOut
from framemesh.wire.live import ControlOut, StreamOut
from framemesh.wire.states import AIJobState, JobState, terminal_values

KEY_ENV = "FRAMEMESH_API_KEY"
TOKEN_ENV = "FRAMEMESH_API_TOKEN"
# Every state a job can end in, transcoding or AI (cancelled among them).
TERMINAL = terminal_values(JobState, AIJobState)
S = TypeVar("S", JobStatus, AIJobStatus)


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
        elif isinstance(detail, list) and detail:  # the validation shape: the fields at fault
            msg = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in detail)
            code = "invalid_request"
        elif detail:
            msg = str(detail)
    except (ValueError, AttributeError):
        pass
    raise GatewayRequestError(f"gateway answered {response.status_code}: {msg}", response.status_code, code)


class GatewayClient:
    def __init__(self, base_url: str, *, timeout: float = 300.0, token: str | None = None) -> None:
        """`token`: your API key, or the gateway's token (default: $FRAMEMESH_API_KEY, or
        else $FRAMEMESH_API_TOKEN, if set)."""
        self.base_url = base_url.rstrip("/")
        self._http = make_client(base_url=self.base_url, timeout=timeout)
        token = token if token is not None else (os.environ.get(KEY_ENV) or os.environ.get(TOKEN_ENV))
        if token:
            self._http.headers["Authorization"] = f"Bearer {token}"

    async def __aenter__(self) -> Self:
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
        return await _poll(lambda: self.status(job_id), on_progress, interval, timeout)

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

    # AI (Livepeer's AI gateway API) --------------------------------------------------

    async def text_to_image(self, prompt: str, **fields: object) -> ImageResponse:
        """`POST /text-to-image`; `fields` are Livepeer's (model_id, width, height, seed, ...)."""
        response = await self._request("POST", "/text-to-image", json={"prompt": prompt, **fields})
        return ImageResponse.model_validate_json(response.content)

    async def text_to_speech(self, text: str, **fields: object) -> AudioResponse:
        """`POST /text-to-speech`: a WAV at `.audio.url`."""
        response = await self._request("POST", "/text-to-speech", json={"text": text, **fields})
        return AudioResponse.model_validate_json(response.content)

    async def image_to_image(self, image: Path | bytes, prompt: str, **fields: object) -> ImageResponse:
        response = await self._upload("/image-to-image", "image", image, {"prompt": prompt, **fields})
        return ImageResponse.model_validate_json(response.content)

    async def image_to_video(self, image: Path | bytes, **fields: object) -> ImageResponse:
        """`POST /image-to-video`: the videos (MP4) at `.images[i].url`, as Livepeer answers."""
        response = await self._upload("/image-to-video", "image", image, fields)
        return ImageResponse.model_validate_json(response.content)

    async def upscale(self, image: Path | bytes, **fields: object) -> ImageResponse:
        response = await self._upload("/upscale", "image", image, fields)
        return ImageResponse.model_validate_json(response.content)

    async def audio_to_text(self, audio: Path | bytes, **fields: object) -> TextResponse:
        response = await self._upload("/audio-to-text", "audio", audio, fields)
        return TextResponse.model_validate_json(response.content)

    # AI jobs (framemesh): staged jobs, and the record of every AI job ---------------

    async def submit_ai_job(
        self, stages: list[dict[str, Any]], files: dict[str, Path | bytes] | None = None
    ) -> AIJobAccepted:
        """`POST /ai/jobs`: stages (see docs/ai-jobs.md) and the files they read by field
        name (`image`, `audio`, `video`); returns once the gateway has accepted the job."""
        if not files:
            response = await self._request("POST", "/ai/jobs", json={"stages": stages})
        else:
            parts = {}
            for part, content in files.items():
                name, data = (content.name, content.read_bytes()) if isinstance(content, Path) else (part, content)
                parts[part] = (name, data, mimetypes.guess_type(name)[0] or "application/octet-stream")
            response = await self._request("POST", "/ai/jobs", files=parts, data={"stages": json.dumps(stages)})
        return AIJobAccepted.model_validate_json(response.content)

    async def ai_job(self, job_id: str) -> AIJobStatus:
        response = await self._request("GET", f"/ai/jobs/{job_id}")
        return AIJobStatus.model_validate_json(response.content)

    async def cancel_ai_job(self, job_id: str) -> AIJobStatus:
        """`DELETE /ai/jobs/{id}`: no further stage of the job starts."""
        response = await self._request("DELETE", f"/ai/jobs/{job_id}")
        return AIJobStatus.model_validate_json(response.content)

    async def ai_jobs(self) -> list[AIJobStatus]:
        response = await self._request("GET", "/ai/jobs")
        return [AIJobStatus.model_validate(j) for j in response.json()]

    async def wait_ai_job(
        self,
        job_id: str,
        *,
        on_progress: Callable[[AIJobStatus], None] | None = None,
        interval: float = 0.25,
        timeout: float | None = None,
    ) -> AIJobStatus:
        """Poll until the AI job completes or fails."""
        return await _poll(lambda: self.ai_job(job_id), on_progress, interval, timeout)

    # live streams ----------------------------------------------------------------

    async def create_stream(
        self, name: str = "", profiles: str | None = None, record: bool = False, *,
        ai_model: str | None = None, params: dict[str, Any] | None = None,
    ) -> StreamOut:
        """`POST /streams`: a new live stream, with its key and its URLs. With `ai_model`,
        a live AI stream: its output is the model's processing, with `params`."""
        body: dict[str, Any] = {"name": name, "record": record}
        if profiles:
            body["profiles"] = profiles
        if ai_model:
            body["ai"] = {"model_id": ai_model, "params": params or {}}
        response = await self._request("POST", "/streams", json=body)
        return StreamOut.model_validate_json(response.content)

    async def control_stream(self, stream_id: str, params: dict[str, Any], replace: bool = False) -> ControlOut:
        """`POST /streams/{id}/control`: new settings for a live AI stream, from its next segment."""
        response = await self._request("POST", f"/streams/{stream_id}/control", json={"params": params, "replace": replace})
        return ControlOut.model_validate_json(response.content)

    async def stream_events(self, stream_id: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """`GET /streams/{id}/events`: (kind, data) of each server-sent event, until `end`."""
        try:
            async with self._http.stream("GET", f"/streams/{stream_id}/events", timeout=None) as response:
                if response.status_code != 200:
                    await response.aread()
                    _raise_for(response)
                kind = None
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind is not None:
                        yield kind, json.loads(line[6:])
                        if kind == "end":
                            return
        except httpx.HTTPError as exc:
            raise GatewayRequestError(f"cannot reach the gateway at {self.base_url}: {exc or type(exc).__name__}") from exc

    async def stream(self, stream_id: str) -> StreamOut:
        response = await self._request("GET", f"/streams/{stream_id}")
        return StreamOut.model_validate_json(response.content)

    async def streams(self, limit: int = 50) -> list[StreamOut]:
        response = await self._request("GET", "/streams", params={"limit": limit})
        return [StreamOut.model_validate(s) for s in response.json()]

    async def end_stream(self, stream_id: str) -> StreamOut:
        """`DELETE /streams/{id}`: returns once its segments are done and its recording written."""
        response = await self._request("DELETE", f"/streams/{stream_id}")
        return StreamOut.model_validate_json(response.content)

    async def scores(self) -> ScoresOut:
        """Every orchestrator's current performance score per kind of work (`GET /scores`)."""
        response = await self._request("GET", "/scores")
        return ScoresOut.model_validate_json(response.content)

    async def score_history(self, orchestrator: str | None = None, *, since: float = 0.0, **filters: str) -> ScoreHistoryOut:
        """The score history (`GET /scores/history`); `filters`: kind, pipeline, model."""
        params: dict[str, Any] = {"since": since, **filters}
        if orchestrator is not None:
            params["orchestrator"] = orchestrator
        response = await self._request("GET", "/scores/history", params=params)
        return ScoreHistoryOut.model_validate_json(response.content)

    async def usage(self) -> KeyOut | None:
        """This client's API key, its limits and what it has used (None without a key)."""
        response = await self._request("GET", "/usage")
        body = response.json()
        return KeyOut.model_validate(body) if body is not None else None

    # the admin API: a client made with the gateway's admin token

    async def create_key(
        self, name: str, *, spend_limit: str | None = None, rate: str | None = None, concurrency: int | None = None
    ) -> KeyCreated:
        """A new API key (`.key` is its secret, given this once)."""
        body = KeyCreate(name=name, spend_limit=spend_limit, rate=rate, concurrency=concurrency)
        response = await self._request("POST", "/admin/keys", json=body.model_dump(exclude_none=True))
        return KeyCreated.model_validate_json(response.content)

    async def keys(self) -> list[KeyOut]:
        response = await self._request("GET", "/admin/keys")
        return [KeyOut.model_validate(k) for k in response.json()]

    async def revoke_key(self, key_id: str) -> KeyOut:
        response = await self._request("DELETE", f"/admin/keys/{key_id}")
        return KeyOut.model_validate_json(response.content)

    async def fetch(self, url: str, dest: Path) -> Path:
        """Download an output URL the gateway answered with into `dest`."""
        response = await self._request("GET", url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(response.content)
        return dest

    async def _upload(
        self, path: str, part: str, content: Path | bytes, fields: dict[str, object]
    ) -> httpx.Response:
        if isinstance(content, Path):
            name, data = content.name, content.read_bytes()
        else:
            name, data = part, content
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        form = {k: _form_value(v) for k, v in fields.items() if v is not None}
        return await self._request("POST", path, files={part: (name, data, mime)}, data=form)


async def _poll(
    fetch: Callable[[], Awaitable[S]], on_progress: Callable[[S], None] | None, interval: float, timeout: float | None
) -> S:
    async with asyncio.timeout(timeout):
        while True:
            status = await fetch()
            if on_progress:
                on_progress(status)
            if status.state in TERMINAL:
                return status
            await asyncio.sleep(interval)


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
