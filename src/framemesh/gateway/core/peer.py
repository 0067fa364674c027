"""The gateway's side of the conversation with an orchestrator, over HTTP.

Every way a peer can let us down is turned into `PeerBusy` (come back later) or
`PeerFailed` (give the work to someone else), so the runner has two cases to handle.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from framemesh.gateway.errors import PeerBusy, PeerFailed, PeerRefused, PeerUnpaid
from framemesh.wire.ai import FILE_PARTS, REQUEST_PART, AIProgress, AIResult
from framemesh.wire.bundle import BundleError, read_bundle
from framemesh.wire.orchestrator import OrchestratorInfo, TranscodeResult
from framemesh.wire.payment import PAYMENT_HEADER, TicketParamsWire

M = TypeVar("M", bound=BaseModel)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
        detail = body.get("detail")
        if isinstance(detail, dict):
            return str(detail.get("msg", detail))
        return str(detail)
    except (ValueError, AttributeError):
        return response.text[:200] or response.reason_phrase


def _unpaid(url: str, response: httpx.Response) -> PeerUnpaid:
    try:
        detail = response.json().get("detail", {})
    except ValueError:
        detail = {}
    if not isinstance(detail, dict):
        detail = {"msg": str(detail)}
    return PeerUnpaid(url, str(detail.get("code", "payment_required")), str(detail.get("msg", "")), detail.get("balance"))


class OrchestratorClient:
    def __init__(self, http: httpx.AsyncClient, *, segment_timeout: float = 120.0) -> None:
        self.http = http
        self.segment_timeout = segment_timeout

    async def _get(self, url: str, path: str, model: type[M], *, timeout: float, **params: str) -> M:
        try:
            response = await self.http.get(f"{url}{path}", params=params or None, timeout=timeout)
        except httpx.HTTPError as exc:
            raise PeerFailed(url, "unreachable", str(exc) or type(exc).__name__) from exc
        if response.status_code != 200:
            raise PeerFailed(url, "error", f"{path} answered {response.status_code}: {_detail(response)}")
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise PeerFailed(url, "bad_result", f"{path} is malformed: {exc.error_count()} errors") from exc

    async def info(self, url: str) -> OrchestratorInfo:
        return await self._get(url, "/info", OrchestratorInfo, timeout=5.0)

    async def ai_progress(self, url: str, job_id: str) -> AIProgress:
        return await self._get(url, f"/ai/progress/{job_id}", AIProgress, timeout=5.0)

    async def ticket_params(self, url: str, sender: str) -> TicketParamsWire:
        return await self._get(url, "/ticket-params", TicketParamsWire, timeout=10.0, sender=sender)

    async def transcode(
        self,
        url: str,
        segment: Path,
        profiles: tuple[str, ...],
        *,
        job_id: str,
        index: int,
        dest_dir: Path,
        duration: float | None = None,
        payment: str | None = None,
        timeout: float | None = None,
    ) -> tuple[TranscodeResult, dict[str, Path], float]:
        """Send one segment; returns the result, its unpacked files and the seconds it took
        (at most `timeout`, by default the client's segment timeout)."""
        started = time.perf_counter()
        params: dict[str, str | int | float] = {"profiles": ",".join(profiles), "job_id": job_id, "segment": index}
        if duration is not None:
            params["duration"] = round(duration, 6)
        size = (await asyncio.to_thread(segment.stat)).st_size
        # Declared, so the orchestrator can refuse a segment over its limit before reading it.
        headers = {"content-type": "video/x-matroska", "content-length": str(size)}
        if payment is not None:
            headers[PAYMENT_HEADER] = payment
        result, files = await self._bundle_call(
            url, "/transcode", TranscodeResult, dest_dir, timeout=timeout or self.segment_timeout, what="result",
            params=params, content=file_chunks(segment), headers=headers,
        )
        if result.segment != index or result.job_id != job_id:
            raise PeerFailed(url, "bad_result", f"answered for job {result.job_id} segment {result.segment}")
        return result, files, time.perf_counter() - started

    async def run_ai(
        self,
        url: str,
        pipeline: str,
        fields: dict[str, Any],
        inputs: dict[str, bytes],
        *,
        job_id: str,
        dest_dir: Path,
        timeout: float,
        payment: str | None = None,
    ) -> tuple[AIResult, dict[str, Path]]:
        """Run one AI job; returns its result and unpacked output files.

        A 4xx other than 402 is the request's fault (`PeerRefused`), not the orchestrator's.
        """
        files = {name: (name, data, "application/octet-stream") for name, data in inputs.items() if name in FILE_PARTS}
        return await self._bundle_call(
            url, f"/ai/{pipeline}", AIResult, dest_dir, timeout=timeout, what="AI result", refusals=True,
            params={"job_id": job_id}, data={REQUEST_PART: json.dumps(fields)}, files=files or None,
            headers={PAYMENT_HEADER: payment} if payment is not None else {},
        )

    async def _bundle_call(
        self, url: str, path: str, model: type[M], dest_dir: Path, *, timeout: float, what: str,
        refusals: bool = False, **request: Any,
    ) -> tuple[M, dict[str, Path]]:
        """POST, stream the answer (a result bundle) to disk, unpack and check it."""
        dest_dir.mkdir(parents=True, exist_ok=True)
        bundle = dest_dir / ".bundle.tar"
        try:
            async with asyncio.timeout(timeout):
                # The answer comes when the work is done: the whole call has `timeout`.
                async with self.http.stream("POST", f"{url}{path}", timeout=timeout, **request) as response:
                    if response.status_code != 200:
                        await response.aread()
                        raise_for_status(url, response, refusals=refusals)
                    with bundle.open("wb") as fh:
                        async for chunk in response.aiter_bytes():
                            fh.write(chunk)
        except TimeoutError as exc:
            raise PeerFailed(url, "timeout", f"no {what} within {timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise PeerFailed(url, "unreachable", str(exc) or type(exc).__name__) from exc
        try:
            return await asyncio.to_thread(read_bundle, bundle, dest_dir, model)
        except BundleError as exc:
            raise PeerFailed(url, "bad_result", str(exc)) from exc
        finally:
            bundle.unlink(missing_ok=True)


async def file_chunks(path: Path, size: int = 1 << 20) -> AsyncIterator[bytes]:
    """A file's bytes, read a piece at a time off the event loop."""
    with path.open("rb") as fh:
        while chunk := await asyncio.to_thread(fh.read, size):
            yield chunk


def raise_for_status(url: str, response: httpx.Response, *, refusals: bool = False) -> None:
    """Turn an orchestrator's non-200 answer into the gateway's error for it.

    402 → PeerUnpaid; 503 → PeerBusy (but a dead AI worker is a failure: go elsewhere);
    with `refusals`, 400/413/415/422 → PeerRefused (the request is bad: no failover);
    anything else → PeerFailed.
    """
    status = response.status_code
    if status == 402:
        raise _unpaid(url, response)
    if refusals and status in (400, 413, 415, 422):
        # The gateway checked the request with the same rules: a refusal here is the
        # client's request (or a stricter node), not a failure of the orchestrator.
        raise PeerRefused(url, status, _detail(response))
    if status == 503 and _code(response) in (None, "busy"):
        retry = response.headers.get("retry-after", "1")
        raise PeerBusy(url, float(retry) if retry.replace(".", "", 1).isdigit() else 1.0)
    raise PeerFailed(url, "error", f"answered {status}: {_detail(response)}")


def _code(response: httpx.Response) -> str | None:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return None
    return str(detail.get("code")) if isinstance(detail, dict) else None
