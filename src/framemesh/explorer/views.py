"""Pure logic of the pages: an orchestrator's row from the index and what its node and
the gateway say, the sort of the orchestrators' table, work and tickets from a node's
stats. No I/O here: pages.py reads, this shapes.
"""

from __future__ import annotations

from typing import Any, Callable

from framemesh.wire.explorer import OrchestratorSummary
from framemesh.wire.explorer_pages import Capability, OrchestratorRow, Score, Tickets, UsedOrchestrator, Work

# Columns of the orchestrators' table that sort, and what each sorts by. The first
# direction is the one a click on a header not yet sorted gives.
SORTS: dict[str, tuple[Callable[[OrchestratorRow], Any], bool]] = {
    "rank": (lambda r: r.rank, False),
    "address": (lambda r: (r.name or r.address).lower(), False),
    "stake": (lambda r: r.stake, True),
    "stake_share": (lambda r: r.stake_share, True),
    "reward_cut": (lambda r: r.reward_cut, False),
    "fee_share": (lambda r: r.fee_share, True),
    "fees_last_round": (lambda r: r.fees_last_round, True),
    "fees_total": (lambda r: r.fees_total, True),
    "fee_vs_stake": (lambda r: r.fee_vs_stake, True),
    "reward_calls": (lambda r: r.reward_calls, True),
    "reward_calls_missed": (lambda r: r.reward_calls_missed, False),
    "last_reward_round": (lambda r: r.last_reward_round, True),
    "price": (lambda r: _transcode_price(r), False),
    "in_use": (lambda r: r.in_use, True),
    "success_rate": (lambda r: r.success_rate, True),
    "score": (lambda r: r.score, True),
}
DEFAULT_SORT = "rank"


def _transcode_price(row: OrchestratorRow) -> int | None:
    return next((c.price for c in row.capabilities if c.kind == "transcode"), None)


def sort_rows(rows: list[OrchestratorRow], key: str, descending: bool) -> list[OrchestratorRow]:
    """Rows by `key`; rows without a value last in either direction; ties by rank, so the
    order is the same on every load (Livepeer explorer #175)."""
    getter = SORTS.get(key, SORTS[DEFAULT_SORT])[0]
    known = [r for r in rows if getter(r) is not None]
    unknown = [r for r in rows if getter(r) is None]
    known.sort(key=lambda r: r.rank)
    known.sort(key=getter, reverse=descending)  # stable: equal values keep rank order
    return known + sorted(unknown, key=lambda r: r.rank)


def parse_sort(sort: str | None, direction: str | None) -> tuple[str, bool]:
    key = sort if sort in SORTS else DEFAULT_SORT
    if direction in ("asc", "desc"):
        return key, direction == "desc"
    return key, SORTS[key][1]


def capabilities(info: dict[str, Any] | None) -> list[Capability]:
    """What a node's /info offers: transcoding (per pixel) and each AI pipeline and model."""
    if not info:
        return []
    caps = info.get("capabilities") or {}
    out: list[Capability] = []
    transcode = caps.get("transcode")
    if transcode:
        out.append(Capability(kind="transcode", price=int(transcode.get("price_per_pixel", info.get("price_per_pixel", 0)))))
    for ai in caps.get("ai") or []:
        out.append(Capability(
            kind=str(ai.get("pipeline")), model=ai.get("model_id"), warm=ai.get("warm"),
            price=int(ai.get("price_per_unit", 0)), capacity=ai.get("capacity"), in_use=ai.get("in_use"),
        ))
    return out


def capacity_in_use(info: dict[str, Any] | None) -> tuple[int | None, int | None]:
    """(capacity, in use): transcode slots plus AI workers', from /info."""
    if not info:
        return None, None
    ai = (info.get("capabilities") or {}).get("ai") or []
    capacity = int(info.get("capacity", 0)) + sum(int(a.get("capacity", 0)) for a in ai)
    in_use = int(info.get("load", 0)) + sum(int(a.get("in_use", 0)) for a in ai)
    return capacity, in_use


def scores_of(scores: dict[str, Any] | None, address: str, url: str | None) -> list[Score]:
    """The gateway's scores of one orchestrator (by address, else by URL)."""
    if not scores:
        return []
    out = []
    for s in scores.get("orchestrators") or []:
        if not isinstance(s, dict):
            continue
        same = (s.get("address") or "").lower() == address.lower() or (url and (s.get("url") or "").rstrip("/") == url.rstrip("/"))
        if same and isinstance(s.get("score"), (int, float)):
            out.append(Score(
                kind=str(s.get("kind")), pipeline=s.get("pipeline"), model=s.get("model"), score=float(s["score"]),
                success_rate=s.get("success_rate"), latency_score=s.get("latency_score"),
                round_trip_p50=s.get("round_trip_p50"), samples=s.get("samples"),
            ))
    return out


def pool_entry(pool: list[dict[str, Any]] | None, address: str, url: str | None) -> dict[str, Any] | None:
    for m in pool or []:
        if (m.get("address") or "").lower() == address.lower() or (url and m.get("url") == url.rstrip("/")):
            return m
    return None


def success_rate(entry: dict[str, Any] | None) -> float | None:
    """The pool's measured rate, once it has measured anything."""
    if entry is None or not (entry.get("successes", 0) or entry.get("failures", 0)):
        return None
    return float(entry.get("success_rate", 0.0))


def measured_rate(pool: dict[str, Any] | None, scores: list[Score]) -> float | None:
    """The success rate the scores use (the window's, of the kind with most results);
    else the pool's, for a gateway without scores."""
    rated = [s for s in scores if s.success_rate is not None]
    if rated:
        return max(rated, key=lambda s: s.samples or 0).success_rate
    return success_rate(pool)


def orchestrator_row(
    rank: int, o: OrchestratorSummary, info: dict[str, Any] | None, pool: dict[str, Any] | None, scores: list[Score]
) -> OrchestratorRow:
    capacity, in_use = capacity_in_use(info)
    return OrchestratorRow(
        rank=rank, address=o.address, service_uri=o.service_uri, active=o.active, stake=o.stake, stake_share=o.stake_share,
        reward_cut=o.reward_cut_fraction, fee_share=o.fee_share_fraction, fees_last_round=o.fees_last_round,
        fees_recent=o.fees_recent, fees_total=o.fees_total, network_fee_share=o.network_fee_share,
        fee_vs_stake=o.fee_vs_stake, reward_calls=o.reward_calls_recent, reward_calls_missed=o.reward_calls_missed_recent,
        last_reward_round=o.last_reward_round, name=(info or {}).get("name"), version=(info or {}).get("version"),
        reachable=info is not None, capabilities=capabilities(info), capacity=capacity, in_use=in_use,
        success_rate=measured_rate(pool, scores), score=max((s.score for s in scores), default=None),
    )


def ranked(orchestrators: list[OrchestratorSummary]) -> list[tuple[int, OrchestratorSummary]]:
    """Rank by stake, then address: the same order on every load."""
    order = sorted(orchestrators, key=lambda o: (-o.stake, o.address.lower()))
    return [(i + 1, o) for i, o in enumerate(order)]


def work(info: dict[str, Any] | None, stats: dict[str, Any] | None, streams: int | None) -> Work:
    """Work in flight: the node's /stats says it by kind (segments transcoding, AI
    requests by pipeline, live AI segments); from a node without /stats, its /info's
    load is its transcode jobs and its AI workers' in_use its AI jobs."""
    flight = (stats or {}).get("in_flight")
    if isinstance(flight, dict):  # /stats: {transcode_segments, ai_requests: {pipeline: n}, live_ai_segments}
        ai_requests = flight.get("ai_requests") if isinstance(flight.get("ai_requests"), dict) else {}
        ai_jobs = sum(as_int(n) or 0 for n in ai_requests.values()) + (as_int(flight.get("live_ai_segments")) or 0)
        return Work(transcode_jobs=as_int(flight.get("transcode_segments")), ai_jobs=ai_jobs, streams=streams)
    ai = ((info or {}).get("capabilities") or {}).get("ai") or []
    return Work(
        transcode_jobs=as_int((info or {}).get("load")) if info else None,
        ai_jobs=sum(int(a.get("in_use", 0)) for a in ai) if info else None,
        streams=streams,
    )


def tickets(stats: dict[str, Any] | None, redeemed_on_chain: int, face_value: int) -> Tickets:
    """Tickets received and won are known only to the node (its stats); redeemed is on chain too."""
    pay = (stats or {}).get("payments") or {}
    store = pay.get("tickets") if isinstance(pay.get("tickets"), dict) else {}
    return Tickets(
        received=as_int(pay.get("tickets_received")), won=as_int(pay.get("tickets_won")),
        redeemed=as_int(store.get("redeemed", pay.get("tickets_redeemed"))),
        redeemed_on_chain=redeemed_on_chain, face_value_redeemed=face_value,
    )


def used(pool: list[dict[str, Any]] | None, scores: dict[str, Any] | None) -> list[UsedOrchestrator] | None:
    if pool is None:
        return None
    out = []
    for m in pool:
        url = str(m.get("url"))
        mine = scores_of(scores, str(m.get("address") or ""), url)
        out.append(UsedOrchestrator(
            url=url, address=m.get("address"), successes=int(m.get("successes", 0)), failures=int(m.get("failures", 0)),
            success_rate=measured_rate(m, mine), in_flight=int(m.get("in_flight", 0)),
            score=max((s.score for s in mine), default=None),
        ))
    return out


def as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
