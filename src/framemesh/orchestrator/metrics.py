"""The orchestrator's metrics (docs/metrics.md): what it did, what it was paid, its round
duties, its slots. Events are counted where they are decided (the transcode route, the
AI service); the rest is read from the node's state when scraped.

`OrchestratorMetrics()` defines every metric without a node (the doc generator does
that); `bind(state)` gives the readings the running node's `OrchestratorState`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from framemesh.ai.requests import REQUEST_TYPES
from framemesh.net.metrics import (
    AI_SECONDS,
    ROUND_TRIP_SECONDS,
    NodeMetrics,
    ScrapeCache,
    outcome_of,
)
from framemesh.payments.ticket import MAX_WIN_PROB
from framemesh.wire.live import LIVE_AI_PIPELINE
from framemesh.wire.orchestrator import TRANSCODE_CAPABILITY

OTHER = "other"  # the label of a pipeline or model this node does not serve


class OrchestratorMetrics(NodeMetrics):
    def __init__(self) -> None:
        super().__init__("orchestrator")
        m = self.set
        self.segments = m.counter(
            "framemesh_orchestrator_segments", "Segments sent here to transcode, by how each ended "
            "(ok, busy, unpaid, refused, failed).", ("outcome",))
        self.transcode_seconds = m.histogram(
            "framemesh_orchestrator_transcode_seconds", "Seconds to transcode a segment into its renditions.",
            ROUND_TRIP_SECONDS)
        self.ai_requests = m.counter(
            "framemesh_orchestrator_ai_requests", "AI requests sent here, by pipeline, model and how each ended "
            "(ok, busy, unpaid, refused, failed, cancelled).", ("pipeline", "model", "outcome"))
        self.ai_seconds = m.histogram(
            "framemesh_orchestrator_ai_seconds", "Seconds a model took to run an AI request (not the LLM's stream).",
            AI_SECONDS, ("pipeline",))

        m.reading("framemesh_orchestrator_pixels", "Output pixels transcoded (width x height x frames).",
                  lambda s: s.pixels_done, kind="counter")
        m.reading("framemesh_orchestrator_fees_wei", "Fees charged for work delivered, wei, by kind (transcode, ai).",
                  _fees, ("kind",), kind="counter")
        m.reading("framemesh_orchestrator_transcode_capacity", "Segments it transcodes at once.",
                  lambda s: s.config.capacity)
        m.reading("framemesh_orchestrator_transcode_load", "Segments being transcoded now.", lambda s: s.limiter.load)
        m.reading("framemesh_orchestrator_ai_capacity", "Jobs a model runs at once.",
                  partial(_models, "capacity"), ("pipeline", "model"))
        m.reading("framemesh_orchestrator_ai_in_use", "Jobs a model is running now.",
                  partial(_models, "in_use"), ("pipeline", "model"))
        m.reading("framemesh_orchestrator_ai_admitted", "Jobs a model holds now, running or queued.",
                  _admitted, ("pipeline", "model"))
        m.reading("framemesh_orchestrator_model_warm", "1 when a worker has the model loaded.",
                  partial(_models, "warm"), ("pipeline", "model"))
        m.reading("framemesh_orchestrator_price_per_unit_wei", "The price it asks, wei per unit: per output pixel "
                  "for transcode, per the pipeline's unit for AI (capability: transcode or the pipeline).",
                  _prices, ("capability", "model"))

        # payments (on a chain)
        m.reading("framemesh_tickets_received", "Tickets accepted (valid, credited to their sender).",
                  _billing(lambda b: b.recipient.tickets_received), kind="counter")
        m.reading("framemesh_ticket_value_received_wei", "Expected value of the tickets accepted, wei.",
                  _billing(lambda b: float(b.recipient.value_received)), kind="counter")
        m.reading("framemesh_tickets_won", "Winning tickets kept to redeem.",
                  _billing(lambda b: b.recipient.tickets_won), kind="counter")
        m.reading("framemesh_ticket_value_won_wei", "Face value of the winning tickets kept, wei.",
                  _billing(lambda b: b.recipient.value_won), kind="counter")
        m.reading("framemesh_tickets_redeemed", "Winning tickets redeemed on the chain.",
                  _billing(lambda b: b.redeemer.total.redeemed), kind="counter")
        m.reading("framemesh_ticket_value_redeemed_wei", "Face value redeemed on the chain, wei.",
                  _billing(lambda b: b.redeemer.total.face_value), kind="counter")
        m.reading("framemesh_tickets_expired", "Winning tickets that expired before they could be redeemed (money lost).",
                  _billing(lambda b: b.redeemer.total.expired), kind="counter")
        m.reading("framemesh_ticket_redemption_errors", "Redemptions that failed (each is retried).",
                  _billing(lambda b: b.redeemer.total.failed), kind="counter")
        m.reading("framemesh_ticket_rejections", "Tickets refused, by reason (bad_signature, replayed, expired, ...).",
                  _billing(lambda b: dict(b.rejected)), ("reason",), kind="counter")
        m.reading("framemesh_ticket_face_value_wei", "The face value of the tickets it asks for, wei.",
                  _billing(lambda b: b.recipient.terms.face_value))
        m.reading("framemesh_ticket_win_probability", "The win probability of the tickets it asks for (0 to 1).",
                  _billing(lambda b: b.recipient.terms.win_prob / MAX_WIN_PROB))
        m.reading("framemesh_tickets_pending", "Winning tickets waiting to be redeemed.", self.chain_value("pending"))

        # round duties and the chain
        m.reading("framemesh_reward_calls", "reward() calls, by outcome (minted, refused, error).",
                  _duties(lambda d: dict(d.calls)), ("outcome",), kind="counter")
        m.reading("framemesh_reward_minted_wei", "Stake minted to its pool by its reward() calls, wei.",
                  _duties(lambda d: sum(d.rewards.values())), kind="counter")
        m.reading("framemesh_rounds_initialized", "Rounds this orchestrator initialized.",
                  _duties(lambda d: len(d.initialized)), kind="counter")
        m.reading("framemesh_last_reward_round", "The last round it called reward() in, as the chain says.",
                  self.chain_value("last_reward_round"))
        m.reading("framemesh_orchestrator_stake_wei", "Its total stake (its own and its delegators'), wei.",
                  self.chain_value("stake"))
        m.reading("framemesh_orchestrator_active", "1 while it is in the active set.", self.chain_value("active"))
        self.chain_readings()

    def bind(self, state: Any) -> None:
        """Read from the running node's `OrchestratorState` (on a chain: the chain too)."""
        self.set.bind(state)
        if state.billing is not None:
            self.chain = ScrapeCache(partial(_chain_values, state.billing))

    def segment(self, outcome: str, seconds: float | None = None) -> None:
        self.segments.labels(outcome).inc()
        if seconds is not None:
            self.transcode_seconds.observe(seconds)

    def segment_failed(self, exc: BaseException) -> None:
        self.segment(outcome_of(exc))

    def ai_request(self, pipeline: str, model: str | None, outcome: str) -> None:
        pipeline = pipeline if pipeline in REQUEST_TYPES else OTHER
        self.ai_requests.labels(pipeline, model or OTHER, outcome).inc()


def _chain_values(billing: Any) -> Mapping[str, float | int]:
    """Blocking: the chain's facts about this orchestrator (read off the event loop)."""
    proto, me = billing.protocol, billing.address
    return {
        "block": proto.block_number,
        "round": proto.current_round(),
        "last_reward_round": proto.terms(me)[2],
        "stake": proto.total_stake(me),
        "active": int(proto.is_active(me)),
        "pending": billing.store.counts()["pending"],
    }


def _billing(read: Any) -> Any:
    return lambda state: read(state.billing) if state.billing is not None else None


def _duties(read: Any) -> Any:
    return lambda state: read(state.duties) if state.duties is not None else None


def _fees(state: Any) -> dict[str, int]:
    fees = {"transcode": state.fees_charged}
    if state.ai is not None:
        fees["ai"] = state.ai.fees_charged
    return fees


def _models(field: str, state: Any) -> dict[tuple[str, str], float] | None:
    if state.ai is None:
        return None
    return {(s.pipeline, s.model_id): float(getattr(s, field)) for s in state.ai.host.status()}


def _admitted(state: Any) -> dict[tuple[str, str], int] | None:
    if state.ai is None:
        return None
    return {(m.pipeline, m.model_id): state.ai.slots[m.key] for m in state.ai.config.models}


def _prices(state: Any) -> dict[tuple[str, str], int]:
    prices = {(TRANSCODE_CAPABILITY, ""): state.config.price_per_pixel}
    if state.ai is not None:
        prices.update({(m.pipeline, m.model_id): m.price_per_unit for m in state.ai.config.models})
    return prices


def in_flight(state: Any) -> dict[str, Any]:
    """The work running here now, by kind (for /stats): nothing about whose it is."""
    ai: dict[str, int] = {}
    live = 0
    if state.ai is not None:
        for m in state.ai.config.models:
            held = state.ai.slots[m.key]
            if m.pipeline == LIVE_AI_PIPELINE:
                live += held
            elif held:
                ai[m.pipeline] = ai.get(m.pipeline, 0) + held
    return {"transcode_segments": state.limiter.load, "ai_requests": ai, "live_ai_segments": live}
