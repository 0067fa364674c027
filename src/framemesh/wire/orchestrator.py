"""Messages an orchestrator sends: its info and the manifest of a transcode result."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from framemesh.wire.ai import AICapability

TRANSCODE_CAPABILITY = "transcode"


class TranscodeCapability(BaseModel):
    profiles: list[str] = Field(description="Rendition profiles this orchestrator encodes, e.g. 720p.")
    price_per_pixel: int = Field(ge=0, description="Wei per output pixel (width x height x frames).")


class Capabilities(BaseModel):
    transcode: TranscodeCapability | None = None
    ai: list[AICapability] = Field(default=[], description="AI pipelines and models served (empty: none).")


class OrchestratorInfo(BaseModel):
    name: str
    version: str
    address: str | None = Field(default=None, description="On-chain address, when the node runs with a chain.")
    capabilities: Capabilities
    price_per_pixel: int = Field(ge=0, description="Wei per output pixel for transcoding.")
    capacity: int = Field(ge=1, description="Jobs it runs at once; past that it answers 503.")
    load: int = Field(ge=0, description="Jobs running now.")


class InFlight(BaseModel):
    """The work an orchestrator has in hand now, counted by kind (whose it is stays private)."""

    transcode_segments: int = Field(ge=0, description="Segments being transcoded (of jobs and of live streams).")
    ai_requests: dict[str, int] = Field(description="AI requests running or queued, by pipeline (live AI apart).")
    live_ai_segments: int = Field(ge=0, description="Live AI (live-video-to-video) segments running or queued.")


class OrchestratorStats(BaseModel):
    """`GET /stats`: what an orchestrator has done since it started, and its work in hand."""

    segments_done: int = Field(ge=0, description="Segments transcoded and delivered.")
    pixels_done: int = Field(ge=0, description="Output pixels of those segments.")
    fees_charged_wei: str = Field(description="Fees charged for them, wei.")
    load: int = Field(ge=0, description="Segments being transcoded now.")
    capacity: int = Field(ge=1, description="Segments it transcodes at once.")
    in_flight: InFlight
    payments: dict[str, Any] | None = Field(
        None, description="On a chain: tickets_received, tickets_won, tickets (winners by state), redeemed_wei, paid_jobs."
    )
    ai: dict[str, Any] | None = Field(None, description="With AI models: jobs_done and fees_charged_wei.")
    rewards: dict[str, str] | None = Field(None, description="On a chain: stake minted by reward() per round, wei.")


class RenditionResult(BaseModel):
    name: str
    file: str = Field(description="Member name of the rendition's fragmented MP4 in the bundle.")
    width: int
    height: int
    duration: float
    frames: int
    bytes: int
    sha256: str


class TranscodeResult(BaseModel):
    """The first member of a transcode bundle: what the other members are."""

    job_id: str
    segment: int
    renditions: list[RenditionResult]
    pixels: int = Field(description="Output pixels, the unit the orchestrator prices by.")
    orchestrator: str
    elapsed: float = Field(description="Seconds the orchestrator spent transcoding.")

    def bundle_entries(self) -> list[RenditionResult]:
        return self.renditions
