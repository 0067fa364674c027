"""A stream's figures for its status: from its session while it runs (or just ended),
from its stored segments after that. Pure."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from framemesh.gateway.live.session import LiveSession
from framemesh.gateway.live.store import LISTED, ControlRecord, SegmentRecord, StreamRecord
from framemesh.wire.live import ControlOut, LiveAIOut, RecentSegment

RECENT_SHOWN = 12


@dataclass(frozen=True)
class Figures:
    received: int = 0
    listed: int = 0
    skipped: int = 0
    in_flight: int = 0
    current: str | None = None
    by_orchestrator: dict[str, int] = field(default_factory=dict)
    swaps: int = 0
    discontinuities: int = 0
    fees: int = 0
    latency: tuple[float | None, float | None, float | None] = (None, None, None)
    recent: list[RecentSegment] = field(default_factory=list)


def latency_figures(latencies: list[float], round_trips: list[float]) -> tuple[float | None, float | None, float | None]:
    """(median latency, p95 latency, median round trip)."""
    trip = statistics.median(round_trips) if round_trips else None
    if not latencies:
        return None, None, trip
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], trip


def from_session(session: LiveSession) -> Figures:
    pieces = list(session.recent) + sorted(session.pieces.values(), key=lambda p: p.seq)
    return Figures(
        received=session.received, listed=session.listed, skipped=session.skipped, in_flight=session.in_flight,
        current=session.current, by_orchestrator=dict(session.by_orchestrator), swaps=session.swaps,
        discontinuities=session.discontinuities, fees=session.fees,
        latency=latency_figures([p.latency for p in session.recent if p.latency is not None],
                                [p.round_trip for p in session.recent if p.round_trip is not None]),
        recent=[RecentSegment(seq=p.seq, duration=round(p.duration, 3), orchestrator=p.orchestrator, attempts=p.attempts,
                              round_trip=_round(p.round_trip), latency=_round(p.latency), state=p.state)
                for p in pieces][-RECENT_SHOWN:],
    )


def from_records(record: StreamRecord, counts: tuple[int, int, dict[str, int]], last: list[SegmentRecord]) -> Figures:
    """After the session is gone: the stored counts and the last segments."""
    listed, skipped, by_orchestrator = counts
    listed_last = [s for s in last if s.state == LISTED]
    return Figures(
        received=listed + skipped, listed=listed, skipped=skipped, by_orchestrator=by_orchestrator,
        current=listed_last[-1].orchestrator if listed_last else None, swaps=record.swaps,
        discontinuities=sum(1 for s in last if s.discontinuity), fees=record.fees,
        latency=latency_figures([s.latency for s in listed_last if s.latency is not None],
                                [s.round_trip for s in listed_last if s.round_trip is not None]),
        recent=[RecentSegment(seq=s.seq, duration=round(s.duration, 3), orchestrator=s.orchestrator, attempts=s.attempts,
                              round_trip=_round(s.round_trip), latency=_round(s.latency), state=s.state) for s in last],
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def ai_out(record: StreamRecord, session: LiveSession | None, controls: list[ControlRecord]) -> LiveAIOut:
    """A live AI stream's model, settings, changes and how the model keeps up (medians of
    its recent segments, while its session is here)."""
    assert record.ai is not None
    infos = [p.ai_info for p in session.recent if p.ai_info] if session is not None else []

    def median(name: str) -> float | None:
        values = [float(i[name]) for i in infos if isinstance(i.get(name), (int, float))]
        return round(statistics.median(values), 3) if values else None

    return LiveAIOut(
        model_id=str(record.ai.get("model_id")), params=session.params if session is not None else record.ai.get("params", {}),
        fps_in=median("fps_in"), fps_out=median("fps_out"), dropped=median("dropped"), processing=median("seconds"),
        controls=[
            ControlOut(n=c.n, params=c.params, state=c.state, requested_at=c.requested_at, effective_seq=c.effective_seq,
                       effective_at=c.effective_at, error=c.error,
                       seconds_to_effect=_round(c.effective_at - c.requested_at) if c.effective_at else None)
            for c in controls
        ],
    )
