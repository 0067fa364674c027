"""An AI job the orchestrator has admitted, and the HTTP error for one that failed.

No I/O: shared by the job routes (`ai_routes`) and the LLM stream (`llm_stream`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from framemesh.ai import AIError, InvalidRequest, ModelSpec, WorkerDied
from framemesh.net.api_errors import ApiError
from framemesh.orchestrator.admission import Slot
from framemesh.orchestrator.billing import Reservation

log = logging.getLogger("framemesh.orchestrator")


@dataclass(frozen=True)
class AdmittedJob:
    """A checked job holding a slot of its model and (on a chain) its reserved price."""

    id: str
    spec: ModelSpec
    request: Any
    fields: dict[str, Any]
    inputs: dict[str, bytes]
    units: int
    price: int
    slot: Slot
    held: Reservation | None  # None off-chain


def job_error(exc: AIError, pipeline: str, job: str) -> ApiError:
    """The HTTP error for a job the model host failed."""
    if isinstance(exc, WorkerDied):
        log.warning("AI job %s: %s", job, exc)
        return ApiError(503, "worker_died", f"the {pipeline} worker died: {exc}; retry", headers={"Retry-After": "1"})
    if isinstance(exc, InvalidRequest):
        return ApiError(422, "invalid_request", str(exc))
    log.error("AI job %s failed: %s", job, exc)
    return ApiError(500, "ai_failed", f"{type(exc).__name__}: {exc}")
