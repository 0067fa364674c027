"""Performance scores over HTTP, read like the gateway's other read routes (`/orchestrators`):

    GET /scores                      every orchestrator's current score per kind of work
    GET /scores/history?orchestrator=URL|ADDRESS&kind=&pipeline=&model=&since=UNIX
                                     the sampled history (one point a `score_interval`)
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import FastAPI, Query

from framemesh.gateway.auth import GUARDED
from framemesh.gateway.core.pool import OrchestratorPool
from framemesh.gateway.core.score_store import MAX_POINTS, ScoreStore, to_wall
from framemesh.gateway.core.scores import AI, TRANSCODE
from framemesh.net.api_errors import ApiError, documented
from framemesh.wire.gateway import AIScaleOut, OrchestratorScoreOut, ScoreHistoryOut, ScorePointOut, ScoresOut


def current_scores(pool: OrchestratorPool) -> ScoresOut:
    now, wall = time.monotonic(), time.time()
    board = pool.scores
    rows, ai = [], {}
    for url, work, s in sorted(board.scores(now), key=lambda x: (x[1].kind, x[1].label, x[0])):
        if work.kind == AI and work.label not in ai:
            median = board.median_round_trip(work, now)
            k = board.k(work, now)
            if median is not None and k is not None:
                ai[work.label] = AIScaleOut(k=k, median_round_trip=median)
        member = pool.members.get(url)
        rows.append(OrchestratorScoreOut(
            url=url, address=member.address if member else None, kind=work.kind, pipeline=work.pipeline,
            model=work.model, score=s.score, success_rate=s.success_rate, latency_score=s.latency_score,
            round_trip_p50=s.round_trip_p50, round_trip_mean=s.round_trip_mean, segment_duration=s.segment_duration,
            samples=s.samples, updated_at=to_wall(s.updated_at, now, wall),
        ))
    return ScoresOut(window_seconds=board.window, max_results=board.max_results, ai=ai, orchestrators=rows)


def install_score_routes(app: FastAPI, pool: OrchestratorPool, store: ScoreStore, auth: list[Any]) -> None:
    @app.get("/scores", response_model=ScoresOut, dependencies=auth, responses=GUARDED, tags=["scores"])
    async def scores() -> ScoresOut:
        """Every orchestrator's performance score per kind of work (transcode; AI per
        pipeline and model), from this gateway's results in the window, with its inputs."""
        return current_scores(pool)

    @app.get("/scores/history", response_model=ScoreHistoryOut, dependencies=auth,
             responses={**GUARDED, **documented(422)}, tags=["scores"])
    async def history(
        orchestrator: str | None = Query(default=None, max_length=512, description="Its URL or its on-chain address."),
        kind: str | None = Query(default=None, description="transcode or ai"),
        pipeline: str | None = Query(default=None, max_length=128),
        model: str | None = Query(default=None, max_length=256),
        since: float = Query(default=0.0, ge=0, description="Unix seconds: points from then on."),
        limit: int = Query(default=MAX_POINTS, ge=1, le=MAX_POINTS, description="The latest this many points."),
    ) -> ScoreHistoryOut:
        """The sampled score history, oldest first: a point per orchestrator and kind of
        work each `score_interval` in which it had a new result."""
        if kind is not None and kind not in (TRANSCODE, AI):
            raise ApiError(422, "unknown_kind", f"kind {kind!r} is neither {TRANSCODE!r} nor {AI!r}")
        points = await asyncio.to_thread(
            store.history, orchestrator=orchestrator, kind=kind, pipeline=pipeline, model=model, since=since, limit=limit,
        )
        return ScoreHistoryOut(points=[
            ScorePointOut(at=p.at, url=p.url, kind=p.kind, pipeline=p.pipeline, model=p.model, score=p.score,
                          success_rate=p.success_rate, latency_score=p.latency_score) for p in points
        ])
