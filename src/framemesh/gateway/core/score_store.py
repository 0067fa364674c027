"""The history of the orchestrators' performance scores, on the gateway's SQLite file.

`ScoreRecorder` samples the pool's scores (`scores.Scoreboard`) every `interval`
seconds: one point per orchestrator and kind of work that has had a new result since
its last point (so an idle one adds nothing), and forgets the points older than
`retention`. `ScoreStore.history` reads them back for `GET /scores/history`.
Times stored are Unix seconds (the pool keeps the monotonic clock: converted here).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from framemesh.gateway.core.records import RecordStore
from framemesh.gateway.core.scores import Scoreboard, Work

log = logging.getLogger("framemesh.gateway")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS score_points (
    at REAL NOT NULL,
    url TEXT NOT NULL,
    address TEXT,
    kind TEXT NOT NULL,
    pipeline TEXT,
    model TEXT,
    score REAL NOT NULL,
    success_rate REAL NOT NULL,
    latency_score REAL NOT NULL,
    round_trip_p50 REAL,
    samples INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS score_points_by_url ON score_points (url, at);
CREATE INDEX IF NOT EXISTS score_points_by_address ON score_points (address, at);
CREATE INDEX IF NOT EXISTS score_points_by_at ON score_points (at);
"""
MAX_POINTS = 10_000  # points a history answers with at most (the latest)
# The order of points taken at the same time (one sample): the same on both back ends
# (no NULL in it: SQLite and PostgreSQL sort NULLs at opposite ends).
_TIES = ("url", "kind", "COALESCE(pipeline, '')", "COALESCE(model, '')")


@dataclass(frozen=True)
class ScorePoint:
    at: float  # Unix seconds
    url: str
    address: str | None
    kind: str
    pipeline: str | None
    model: str | None
    score: float
    success_rate: float
    latency_score: float
    round_trip_p50: float | None
    samples: int


class ScoreStore(RecordStore):
    NAME = "scores"
    MIGRATIONS = (_SCHEMA,)

    def add(self, points: list[ScorePoint]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT INTO score_points (at, url, address, kind, pipeline, model, score, success_rate, latency_score,"
                " round_trip_p50, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(p.at, p.url, p.address, p.kind, p.pipeline, p.model, p.score, p.success_rate, p.latency_score,
                  p.round_trip_p50, p.samples) for p in points],
            )

    def history(
        self, *, orchestrator: str | None = None, kind: str | None = None, pipeline: str | None = None,
        model: str | None = None, since: float = 0.0, limit: int = MAX_POINTS,
    ) -> list[ScorePoint]:
        """Points since `since` (Unix seconds), oldest first, the latest `limit` of them.
        `orchestrator`: its URL or its on-chain address."""
        where, args = ["at >= ?"], [since]
        if orchestrator is not None:
            where.append("(url = ? OR lower(address) = lower(?))")
            args += [orchestrator.rstrip("/"), orchestrator]
        for column, value in (("kind", kind), ("pipeline", pipeline), ("model", model)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM (SELECT * FROM score_points WHERE {' AND '.join(where)} ORDER BY at DESC, {', '.join(t + ' DESC' for t in _TIES)} LIMIT ?)"
                f" AS latest ORDER BY at, {', '.join(_TIES)}",
                (*args, limit),
            ).fetchall()
        return [ScorePoint(**dict(row)) for row in rows]

    def delete_before(self, before: float) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM score_points WHERE at < ?", (before,)).rowcount


def to_wall(at: float, now: float, wall_now: float) -> float:
    """A monotonic time `at` as Unix seconds, given both clocks' readings now."""
    return wall_now - (now - at)


@dataclass
class ScoreRecorder:
    """Writes the scores' history: a point per orchestrator and work per `interval`."""

    store: ScoreStore
    scores: Scoreboard
    addresses: Callable[[str], str | None]  # an orchestrator's on-chain address, if known
    interval: float
    retention: float | None
    _written: dict[tuple[str, Work], float] = field(default_factory=dict, repr=False)  # each key's latest result in a point

    def __post_init__(self) -> None:
        if self.interval <= 0:
            raise ValueError("interval: must be positive")

    def sample(self, now: float | None = None, wall_now: float | None = None) -> list[ScorePoint]:
        """The points due now: each score with a result newer than its last point."""
        now = time.monotonic() if now is None else now
        wall_now = time.time() if wall_now is None else wall_now
        points = []
        for url, work, s in self.scores.scores(now):
            if self._written.get((url, work), float("-inf")) >= s.updated_at:
                continue
            self._written[url, work] = s.updated_at
            points.append(ScorePoint(
                at=wall_now, url=url, address=self.addresses(url), kind=work.kind, pipeline=work.pipeline,
                model=work.model, score=s.score, success_rate=s.success_rate, latency_score=s.latency_score,
                round_trip_p50=s.round_trip_p50, samples=s.samples,
            ))
        return points

    def write(self, points: list[ScorePoint]) -> None:
        """Write `points` and forget the expired ones (blocking: off the event loop)."""
        if points:
            self.store.add(points)
        if self.retention is not None:
            self.store.delete_before(time.time() - self.retention)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                # Sampled on the event loop, where the pool's results are written; stored off it.
                await asyncio.to_thread(self.write, self.sample())
            except Exception as exc:  # a full disk for a moment must not end the history for good
                log.warning("score history: %s", exc)
