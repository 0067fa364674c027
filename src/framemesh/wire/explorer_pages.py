"""The explorer's pages as data: each HTML page is one of these rendered, and the same
object is its JSON (`Accept: application/json` or the `/api/...` path).

The chain's history comes from the indexer (`framemesh.wire.explorer`); what only the
nodes know (capabilities, models warm or cold, prices, load, success rates, scores,
streams) is read from them when the page is made, and is None ("—") when a node does
not answer.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from framemesh.wire.explorer import (
    Amount,
    ChainEvent,
    DelegatorDetail,
    GatewayDetail,
    GatewaySummary,
    IndexStatus,
    OrchestratorDetail,
    RoundSeries,
    RoundSummary,
)


class Capability(BaseModel):
    kind: str = Field(description="'transcode', or an AI pipeline such as 'text-to-image'.")
    model: str | None = Field(None, description="The AI model id (None for transcoding).")
    warm: bool | None = Field(None, description="A worker has the model loaded now (AI only).")
    price: int = Field(description="Wei per unit: per output pixel for transcoding, per the pipeline's unit for AI.")
    capacity: int | None = None
    in_use: int | None = None


class Scored(BaseModel):
    """A score of the gateway's for one kind of work (Livepeer's formulas, 0..1)."""

    kind: str = Field(description="'transcode' or 'ai'.")
    pipeline: str | None = None
    model: str | None = None
    score: float
    success_rate: float | None = None
    latency_score: float | None = None


class Score(Scored):
    """One of the gateway's performance scores of an orchestrator now (GET /scores)."""

    round_trip_p50: float | None = None
    samples: int | None = None


class OrchestratorRow(BaseModel):
    rank: int = Field(description="Place by stake; it stays with the row whatever the sort.")
    address: str
    service_uri: str | None
    active: bool
    stake: Amount
    stake_share: float
    reward_cut: float | None = Field(description="Share of rewards kept, 0..1.")
    fee_share: float | None = Field(description="Share of fees passed to delegators, 0..1.")
    fees_last_round: Amount
    fees_recent: Amount
    fees_total: Amount
    network_fee_share: float | None
    fee_vs_stake: float | None
    reward_calls: int = Field(description="Reward calls made in the recent window.")
    reward_calls_missed: int
    last_reward_round: int | None
    name: str | None = Field(description="From the node's /info (None: it did not answer).")
    version: str | None
    reachable: bool
    capabilities: list[Capability]
    capacity: int | None = Field(description="Transcode jobs it runs at once, plus AI workers' capacity.")
    in_use: int | None = Field(description="Of that capacity, jobs running now.")
    success_rate: float | None = Field(description="The gateway's measured success rate with it.")
    score: float | None = Field(description="The gateway's performance score (best of its kinds of work), 0..1.")


class OrchestratorsPage(BaseModel):
    status: IndexStatus
    sort: str
    descending: bool
    orchestrators: list[OrchestratorRow]
    total_stake: Amount
    scores_window_seconds: float | None = None


class Work(BaseModel):
    """Work in flight on an orchestrator now, as counts: nothing private."""

    transcode_jobs: int | None = None
    ai_jobs: int | None = None
    streams: int | None = Field(None, description="Live streams the explorer's gateway has on it.")


class Tickets(BaseModel):
    received: int | None = Field(None, description="From the node's own stats (None: not published).")
    won: int | None = None
    redeemed: int | None = Field(None, description="From the node's stats; else the chain's count.")
    redeemed_on_chain: int
    face_value_redeemed: Amount


class ScorePoint(Scored):
    """A score as it was at `at` (GET /scores/history)."""

    at: float


class OrchestratorPage(BaseModel):
    status: IndexStatus
    row: OrchestratorRow
    detail: OrchestratorDetail
    scores: list[Score]
    score_history: list[ScorePoint] | None
    work: Work
    tickets: Tickets


class LiveNow(BaseModel):
    streams_live: int | None = Field(description="Live streams on the explorer's gateway (None: no gateway).")
    jobs_in_flight: int | None = Field(description="Transcode and AI jobs running on the orchestrators that answered.")
    segments_in_flight: int | None = Field(description="Pieces of work the gateway has out with orchestrators.")
    orchestrators_answering: int


class OverviewPage(BaseModel):
    status: IndexStatus
    latest: RoundSummary | None
    series: RoundSeries
    live: LiveNow
    orchestrators: int
    active_orchestrators: int
    total_stake: Amount


class RoundsPage(BaseModel):
    status: IndexStatus
    rounds: list[RoundSummary]


class ActivityPage(BaseModel):
    status: IndexStatus
    address: str | None = Field(default=None, description="Only the events that name this address, when given.")
    events: list[ChainEvent]


class DelegatorPage(BaseModel):
    status: IndexStatus
    delegator: DelegatorDetail


class UsedOrchestrator(BaseModel):
    url: str
    address: str | None
    successes: int
    failures: int
    success_rate: float | None
    in_flight: int
    score: float | None = None


class GatewayPage(BaseModel):
    status: IndexStatus
    address: str | None = Field(description="The explorer's gateway's account (None: none configured or off-chain).")
    on_chain: GatewayDetail | None = Field(description="Its deposit, reserve and redeemed tickets, from the index.")
    tickets_sent: int | None = Field(description="Tickets it signed (from the gateway itself).")
    face_value_sent: Amount | None
    expected_value_sent: Amount | None
    used: list[UsedOrchestrator] | None
    gateways: list[GatewaySummary] = Field(description="Every gateway the index knows.")


class StreamOut(BaseModel):
    id: str
    name: str
    state: str
    orchestrator: str | None
    segments: int
    live_since: float | None
    model: str | None
    player_url: str


class StreamsPage(BaseModel):
    status: IndexStatus
    streams: list[StreamOut] | None = Field(description="None: the explorer has no gateway to ask.")
