"""The gateway's live-stream API messages (shared with the SDK and the CLI)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

LIVE_AI_PIPELINE = "live-video-to-video"


class LiveAI(BaseModel):
    """AI applied to the stream as it plays: its output is the processed video."""

    pipeline: Literal["live-video-to-video"] = LIVE_AI_PIPELINE
    model_id: str = Field(min_length=1, max_length=200, description='e.g. "framemesh/tiny-sd", "framemesh/face-blur".')
    params: dict[str, Any] = Field(default_factory=dict, description="The model's settings (a prompt, a strength, ...).")


class StreamCreate(BaseModel):
    name: str = Field("", max_length=200, description="A label for people; not unique.")
    profiles: str | list[str] | None = Field(None, description='Renditions, e.g. "720p,480p,360p" (never upscaled).')
    record: bool = Field(False, description="Keep the whole stream as a video-on-demand ladder when it ends.")
    ai: LiveAI | None = Field(None, description="Process the stream with a live AI model; `profiles` then do not apply.")


class ControlIn(BaseModel):
    params: dict[str, Any] = Field(description="New settings, merged into those in effect (or replacing them).")
    replace: bool = Field(False, description="Replace every setting instead of merging these in.")


class ControlOut(BaseModel):
    n: int = Field(description="The change's number in the stream, from 1.")
    params: dict[str, Any] = Field(description="Every setting in effect once it applies.")
    state: str = Field(description="pending (not yet sent), applied (a segment was made with it), rejected, or unused (the stream ended first).")
    requested_at: float
    effective_seq: int | None = Field(None, description="The first segment made with it.")
    effective_at: float | None = Field(None, description="When that segment was listed (epoch seconds).")
    seconds_to_effect: float | None = Field(None, description="From the request to that segment's listing.")
    error: str | None = Field(None, description="Why it was rejected (the model refused the settings).")


class LiveAIOut(BaseModel):
    model_id: str
    params: dict[str, Any] = Field(description="The settings in effect now.")
    fps_in: float | None = Field(None, description="Frames per second of the source (recent segments).")
    fps_out: float | None = Field(None, description="Frames per second the model processed (the rest held the last).")
    dropped: float | None = Field(None, description="Share of source frames the model could not keep up with.")
    processing: float | None = Field(None, description="Median seconds of model work per segment (recent).")
    controls: list[ControlOut] = []


class LiveVideoToVideoParams(BaseModel):
    """Livepeer's `POST /live-video-to-video` request. The gateway never connects to a URL
    a client names: `subscribe_url` and `publish_url` are kept as labels, and the
    answer gives the gateway's own URLs to publish to and to play from."""

    subscribe_url: str = Field(max_length=2000, description="Source URL of the incoming stream (a label here).")
    publish_url: str = Field(max_length=2000, description="Destination URL of the outgoing stream (a label here).")
    control_url: str | None = Field(None, max_length=2000)
    events_url: str | None = Field(None, max_length=2000)
    model_id: str = Field("", max_length=200, description="The live model; the network's most common one if empty.")
    params: dict[str, Any] = Field(default_factory=dict, description="Initial parameters for the model.")
    gateway_request_id: str | None = Field(None, max_length=200)
    stream_id: str | None = Field(None, max_length=200)


class LiveVideoToVideoResponse(BaseModel):
    subscribe_url: str = Field(description="Where to publish the source: the stream's RTMP URL (or HTTP push URL).")
    publish_url: str = Field(description="Where the processed stream plays: its HLS playlist.")
    control_url: str = Field(description="POST new params here.")
    events_url: str = Field(description="The stream's status as server-sent events.")
    request_id: str
    manifest_id: str


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
    ai: LiveAIOut | None = Field(None, description="The live AI model, its settings and how it keeps up.")
