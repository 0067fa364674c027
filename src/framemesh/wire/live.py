"""The gateway's live-stream API messages (shared with the SDK and the CLI)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StreamCreate(BaseModel):
    name: str = Field("", max_length=200, description="A label for people; not unique.")
    profiles: str | list[str] | None = Field(None, description='Renditions, e.g. "720p,480p,360p" (never upscaled).')
    record: bool = Field(False, description="Keep the whole stream as a video-on-demand ladder when it ends.")


class SegmentCountsOut(BaseModel):
    received: int = Field(description="Segments cut from the encoder's media.")
    listed: int = Field(description="Segments transcoded, checked and in the live playlist.")
    skipped: int = Field(description="Segments no orchestrator delivered before their deadline (a discontinuity each).")
    in_flight: int


class RecentSegment(BaseModel):
    seq: int
    duration: float
    orchestrator: str | None
    attempts: int
    round_trip: float | None = Field(description="Seconds from sending the segment to the orchestrator to its answer.")
    latency: float | None = Field(description="Seconds from the segment's last frame arriving to its listing.")
    state: str = Field(description="running, listed or skipped")


class LatencyOut(BaseModel):
    median: float | None = Field(description="Median latency (last frame in → listed) of recent segments, seconds.")
    p95: float | None
    round_trip_median: float | None


class StreamOut(BaseModel):
    id: str
    name: str
    state: str = Field(description="idle, live, ended or failed")
    error: str | None = None
    profiles: list[str]
    record: bool
    stream_key: str
    rtmp_url: str | None = Field(description="rtmp://HOST:PORT/live/STREAM_KEY, when the gateway listens for RTMP.")
    push_url: str = Field(description="HTTP push: PUT {push_url}/{seq}.ts, one MPEG-TS segment each.")
    playback_url: str = Field(description="The live HLS master playlist.")
    player_url: str = Field(description="A page that plays the stream (hls.js).")
    recording_url: str | None = Field(None, description="The recording's master playlist, once the stream ended.")
    created: float
    live_since: float | None = None
    ended_at: float | None = None
    segments: SegmentCountsOut
    orchestrator: str | None = Field(None, description="Who the stream is on now.")
    orchestrators: dict[str, int] = Field(default_factory=dict, description="Segments listed per orchestrator.")
    swaps: int = Field(0, description="Times the stream moved to another orchestrator (failure or falling behind).")
    discontinuities: int = 0
    reconnects: int = 0
    fees_wei: int = Field(0, description="Wei paid in tickets for its segments (0 off-chain).")
    latency: LatencyOut
    recent: list[RecentSegment] = []
