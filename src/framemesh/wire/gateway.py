"""The gateway's public HTTP messages (shared with the SDK that reads them)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SegmentCounts(BaseModel):
    done: int
    total: int | None = Field(description="Known once the source is segmented.")


class JobErrorOut(BaseModel):
    at: float
    segment: int | None
    orchestrator: str | None
    message: str


class JobOutputs(BaseModel):
    master: str = Field(description="URL path of the HLS master playlist.")
    files: list[str] = Field(description="URL paths of every file of the ladder.")


class JobStatus(BaseModel):
    id: str
    state: str
    progress: float = Field(ge=0, le=1)
    segments: SegmentCounts
    profiles: list[str]
    source_name: str
    created: float
    updated: float
    error: str | None = None
    errors: list[JobErrorOut] = []
    orchestrators: dict[str, int] = Field(default_factory=dict, description="Segments done per orchestrator.")
    outputs: JobOutputs | None = None


class JobAccepted(BaseModel):
    id: str
    state: str
    status_url: str
