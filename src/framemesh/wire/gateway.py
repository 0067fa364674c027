"""The gateway's public HTTP messages (shared with the SDK that reads them)."""

from __future__ import annotations

from typing import Any

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


# AI jobs: every Livepeer API request, and staged jobs (POST /ai/jobs) --------------


class AIOutputOut(BaseModel):
    url: str = Field(description="URL path of the output file (C2PA-signed).")
    kind: str = Field(description="image, video or audio")
    seed: int
    nsfw: bool


class AIStageStatus(BaseModel):
    index: int
    pipeline: str
    model_id: str
    state: str = Field(description="pending, running, done or failed")
    attempts: int = Field(description="Times the gateway started it (more than 1 after a restart).")
    orchestrator: str | None = Field(None, description="Who did the work.")
    units: int | None = None
    price: int | None = Field(None, description="Wei charged by the orchestrator (0 off-chain).")
    seconds: float | None = Field(None, description="Wall time of the stage, failovers included.")
    progress: float = Field(0.0, ge=0, le=1, description="1 once done; while running, its orchestrator's report.")
    outputs: list[AIOutputOut] = []
    text: str | None = None
    chunks: list[dict[str, Any]] = []


class AIJobStatus(BaseModel):
    id: str
    kind: str = Field(description="request (one Livepeer API call) or stages (POST /ai/jobs)")
    state: str = Field(description="queued, running, completed, failed or cancelled")
    progress: float = Field(ge=0, le=1, description="Mean of the stages' progress.")
    created: float
    updated: float
    error: str | None = None
    stages: list[AIStageStatus]
    outputs: list[AIOutputOut] = Field([], description="The last stage's outputs, once the job is completed.")
    text: str | None = Field(None, description="The last stage's text (audio-to-text), once completed.")


class AIJobAccepted(BaseModel):
    id: str
    state: str
    status_url: str


class QueueOut(BaseModel):
    """The gateway's line of work waiting for a free orchestrator, since it started."""

    waiting: int = Field(description="Waiting now.")
    limit: int = Field(description="The most that may wait (queue_limit); past it, 503.")
    served: int = Field(description="Requests and segments that got an orchestrator, at once or after waiting.")
    waited: int = Field(description="Of them, those that had to wait.")
    full: int = Field(description="Refused because the line was full.")
    timed_out: int = Field(description="Gave up waiting at their deadline (queue_seconds, or a live segment's).")
    wait_seconds_total: float
    wait_seconds_max: float
    wait_seconds_p50: float = Field(description="Over the last 1000 served.")
    wait_seconds_p95: float


# Performance scores (GET /scores, GET /scores/history) -----------------------------


class AIScaleOut(BaseModel):
    k: float = Field(description="The AI latency decay rate: ln(1/0.8) / median_round_trip.")
    median_round_trip: float = Field(description="Seconds: the median of every orchestrator's recent successful round trips.")


class OrchestratorScoreOut(BaseModel):
    url: str
    address: str | None = Field(description="Its on-chain address, when known.")
    kind: str = Field(description="transcode or ai")
    pipeline: str | None = None
    model: str | None = None
    score: float = Field(ge=0, le=1, description="transcode: success_rate x latency_score; ai: 0.65 x success_rate + 0.35 x latency_score.")
    success_rate: float = Field(ge=0, le=1)
    latency_score: float = Field(ge=0, le=1, description="transcode: 1 - e^(-segment duration / round trip); ai: e^(-k x round trip).")
    round_trip_p50: float | None = Field(description="Seconds, over the window's successes.")
    round_trip_mean: float | None = Field(default=None, description="Seconds: the round trip the formula takes.")
    segment_duration: float | None = Field(default=None, description="Seconds: the mean segment duration (transcode).")
    samples: int = Field(description="Results in the window.")
    updated_at: float = Field(description="Unix seconds of its latest result.")


class ScoresOut(BaseModel):
    """Every orchestrator's current score per kind of work, from this gateway's own results."""

    window_seconds: float = Field(description="A result counts this long (and only the latest max_results per score).")
    max_results: int
    ai: dict[str, AIScaleOut] = Field(description="Per \"pipeline/model\".")
    orchestrators: list[OrchestratorScoreOut]


class ScorePointOut(BaseModel):
    at: float = Field(description="Unix seconds.")
    url: str
    kind: str
    pipeline: str | None
    model: str | None
    score: float
    success_rate: float
    latency_score: float


class ScoreHistoryOut(BaseModel):
    points: list[ScorePointOut]
