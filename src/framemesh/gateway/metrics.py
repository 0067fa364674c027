"""The gateway's metrics (docs/metrics.md): the work it sent and how it came back, the
line of work waiting, live streams, its payments and deposit, its orchestrators.

Events are counted where each is decided: a try at an orchestrator (`segment_try`,
`ai_try`), a segment's or an AI request's end, a stream's swap, a wait in the line.
The rest is read from the running `Gateway` when scraped. `GatewayMetrics()` defines
everything without a node (the doc generator does that); `bind(gateway)` gives it one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial
from typing import Any

from framemesh.ai.requests import REQUEST_TYPES
from framemesh.explorer.metrics import index_readings
from framemesh.net.metrics import (
    AI_SECONDS,
    REALTIME_RATIO,
    ROUND_TRIP_SECONDS,
    WAIT_SECONDS,
    NodeMetrics,
    ScrapeCache,
)
from framemesh.payments.ticket import MAX_WIN_PROB

OTHER = "other"  # the label of a pipeline or model no orchestrator offers (client input stays out of labels)
VOD, LIVE, LIVE_AI = "vod", "live", "live-ai"  # the kinds of segment


class GatewayMetrics(NodeMetrics):
    def __init__(self) -> None:
        super().__init__("gateway")
        m = self.set
        self.segment_tries = m.counter(
            "framemesh_gateway_segment_tries", "Segments sent to an orchestrator, by kind (vod, live, live-ai), "
            "orchestrator and how the try ended (ok, busy, error, timeout, unreachable, bad_result).",
            ("kind", "orchestrator", "outcome"))
        self.segments = m.counter(
            "framemesh_gateway_segments", "Segments at their end, by kind and outcome: a job's done or failed "
            "(out of tries), a live stream's listed or skipped (no orchestrator delivered it in time).",
            ("kind", "outcome"))
        self.round_trip = m.histogram(
            "framemesh_gateway_segment_round_trip_seconds", "Seconds from sending a segment to having its answer "
            "(upload, work, download), for the tries that succeeded.", ROUND_TRIP_SECONDS, ("kind",))
        self.realtime = m.histogram(
            "framemesh_gateway_segment_realtime_ratio", "A segment's duration over its round trip: under 1, the "
            "orchestrator is slower than real time.", REALTIME_RATIO, ("kind",))
        self.ai_requests = m.counter(
            "framemesh_gateway_ai_requests", "AI requests (and stages) at their end, by pipeline, model and outcome "
            "(ok, failed, busy, no_orchestrator, refused, cancelled).", ("pipeline", "model", "outcome"))
        self.ai_tries = m.counter(
            "framemesh_gateway_ai_tries", "AI requests sent to an orchestrator, by pipeline, orchestrator and how the "
            "try ended (ok, busy, error, timeout, unreachable, bad_result).", ("pipeline", "orchestrator", "outcome"))
        self.ai_round_trip = m.histogram(
            "framemesh_gateway_ai_round_trip_seconds", "Seconds from sending an AI request to an orchestrator to "
            "having its checked answer, for the tries that succeeded.", AI_SECONDS, ("pipeline",))
        self.swaps = m.counter(
            "framemesh_gateway_orchestrator_swaps", "Live streams moved to another orchestrator (theirs fell behind, "
            "failed or left).")
        self.queue_wait = m.histogram(
            "framemesh_gateway_queue_wait_seconds", "Seconds work waited in the line for a free orchestrator "
            "(0 when one was free at once).", WAIT_SECONDS)
        self.jobs = m.counter(
            "framemesh_gateway_jobs", "Transcode jobs at their end, by outcome (completed, failed).", ("outcome",))

        m.reading("framemesh_gateway_live_streams", "Live streams active now, by kind (transcode, ai).", _streams,
                  ("kind",))
        m.reading("framemesh_gateway_queue_waiting", "Pieces of work waiting in the line now.", lambda g: g.line.waiting)
        m.reading("framemesh_gateway_queue_limit", "The most that may wait in the line.", lambda g: g.line.limit)
        m.reading("framemesh_gateway_queue_refused", "Work the line refused, by reason (full, timed_out).",
                  lambda g: {"full": g.line.stats.full, "timed_out": g.line.stats.timed_out}, ("reason",),
                  kind="counter")
        m.reading("framemesh_gateway_orchestrators", "Orchestrators in the pool, by state (usable, avoided, refused, "
                  "unknown: its /info never answered).", _pool_states, ("state",))
        m.reading("framemesh_gateway_orchestrator_capacity", "Slots each orchestrator says it has.",
                  partial(_members, "capacity"), ("orchestrator",))
        m.reading("framemesh_gateway_orchestrator_in_flight", "Pieces of work this gateway has at each orchestrator.",
                  partial(_members, "in_flight"), ("orchestrator",))
        m.reading("framemesh_gateway_orchestrator_score", "Each orchestrator's performance score (0 to 1) for a kind "
                  "of work (transcode, or pipeline/model), from its recent work (docs/scores.md).",
                  partial(_scores, "score"), ("orchestrator", "work"))
        m.reading("framemesh_gateway_orchestrator_success_rate", "Each orchestrator's recent success rate (0 to 1) "
                  "for a kind of work.", partial(_scores, "success_rate"), ("orchestrator", "work"))
        index_readings(m, lambda g: g.explorer.index_status() if g.explorer is not None else None)
        m.reading("framemesh_gateway_uploads_waiting", "Outputs on this gateway's disk still to go to the object "
                  "store (0 without one; rising while the store is down).",
                  lambda g: g.uploader.records.waiting() if g.objects.remote else 0)
        m.reading("framemesh_gateway_uploaded", "Outputs this gateway put in the object store.",
                  lambda g: g.uploader.uploaded, kind="counter")
        m.reading("framemesh_gateway_held", "Jobs and streams this gateway runs now under its lease, by kind "
                  "(vod, ai, live).", lambda g: {"vod": len(g.runner.held), "ai": len(g.ai_runner.held),
                                                 "live": len(g.live.held)}, ("kind",))
        m.reading("framemesh_gateway_taken_over", "Jobs and streams this gateway took over since it started, from "
                  "gateways that stopped renewing their leases.", lambda g: g.leases.taken_over, kind="counter")
        m.reading("framemesh_gateway_ai_in_flight", "AI requests this gateway has at orchestrators now, by pipeline.",
                  _ai_in_flight, ("pipeline",))

        # payments (on a chain)
        m.reading("framemesh_tickets_sent", "Tickets sent to orchestrators.",
                  _payer(lambda p: p.tickets_sent), kind="counter")
        m.reading("framemesh_ticket_value_sent_wei", "Expected value of the tickets sent, wei.",
                  _payer(lambda p: float(p.expected_value_sent)), kind="counter")
        m.reading("framemesh_ticket_face_value_sent_wei", "Face value of the tickets sent, wei.",
                  _payer(lambda p: p.face_value_sent), kind="counter")
        m.reading("framemesh_gateway_ticket_face_value_wei", "The face value each orchestrator's tickets carry, wei.",
                  _payer(lambda p: {url: t[0] for url, t in p.ticket_terms().items()}), ("orchestrator",))
        m.reading("framemesh_gateway_ticket_win_probability", "The win probability of each orchestrator's tickets "
                  "(0 to 1).", _payer(lambda p: {url: t[1] / MAX_WIN_PROB for url, t in p.ticket_terms().items()}),
                  ("orchestrator",))
        m.reading("framemesh_gateway_deposit_wei", "The gateway's deposit on the chain (pays winning tickets), wei.",
                  self.chain_value("deposit"))
        m.reading("framemesh_gateway_reserve_wei", "The gateway's reserve on the chain (backs tickets past the "
                  "deposit), wei.", self.chain_value("reserve"))
        self.chain_readings()

    def bind(self, gateway: Any) -> None:
        """Read from the running `Gateway` (on a chain: the chain too)."""
        self.set.bind(gateway)
        if gateway.payer is not None:
            self.chain = ScrapeCache(partial(_chain_values, gateway.protocol, gateway.payer.address))

    # events

    def segment_try(self, kind: str, url: str, outcome: str, seconds: float | None = None,
                    duration: float | None = None) -> None:
        """One try of a segment at `url`; a successful one gives its round trip."""
        self.segment_tries.labels(kind, url, outcome).inc()
        if seconds is not None:
            self.round_trip.labels(kind).observe(seconds)
            if duration is not None and seconds > 0:
                self.realtime.labels(kind).observe(duration / seconds)

    def segment_end(self, kind: str, outcome: str) -> None:
        self.segments.labels(kind, outcome).inc()

    def ai_try(self, pipeline: str, url: str, outcome: str, seconds: float | None = None) -> None:
        pipeline = _pipeline(pipeline)
        self.ai_tries.labels(pipeline, url, outcome).inc()
        if seconds is not None:
            self.ai_round_trip.labels(pipeline).observe(seconds)

    def ai_request(self, pipeline: str, model: str, outcome: str, offered: bool) -> None:
        """An AI request's end; `offered`: some orchestrator serves its model (else the
        model, the client's word, is not a label)."""
        self.ai_requests.labels(_pipeline(pipeline), model if offered else OTHER, outcome).inc()

    def waited(self, seconds: float) -> None:
        self.queue_wait.observe(seconds)


def _pipeline(name: str) -> str:
    return name if name in REQUEST_TYPES else OTHER


def _chain_values(protocol: Any, address: str) -> Mapping[str, float | int]:
    """Blocking: the chain's facts about this gateway (read off the event loop)."""
    info = protocol.sender_info(address)
    return {"block": protocol.block_number, "round": protocol.current_round(), "deposit": info.deposit,
            "reserve": info.reserve}


def _payer(read: Any) -> Any:
    return lambda gateway: read(gateway.payer) if gateway.payer is not None else None


def _streams(gateway: Any) -> dict[str, int]:
    counts = {"transcode": 0, "ai": 0}
    for session in gateway.live.active():
        counts["ai" if session.ai is not None else "transcode"] += 1
    return counts


def _pool_states(gateway: Any) -> dict[str, int]:
    now = time.monotonic()
    counts = {"usable": 0, "avoided": 0, "refused": 0, "unknown": 0}
    for member in gateway.pool.members.values():
        state = ("refused" if member.refused else "unknown" if not member.known
                 else "avoided" if member.avoid_until > now else "usable")
        counts[state] += 1
    return counts


def _members(field: str, gateway: Any) -> dict[str, int]:
    return {url: getattr(member, field) for url, member in gateway.pool.members.items()}


def _scores(field: str, gateway: Any) -> dict[tuple[str, str], float]:
    return {(url, work.label): getattr(score, field) for url, work, score in gateway.pool.scores.scores(time.monotonic())}


def _ai_in_flight(gateway: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (_, pipeline, _), n in gateway.ai.running.items():
        counts[pipeline] = counts.get(pipeline, 0) + n
    return counts
