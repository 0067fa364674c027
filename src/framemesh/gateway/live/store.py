"""The gateway's durable record of live streams and their finished segments.

A stream is created once its row is committed; each segment is written once, when it
is listed (with its orchestrator, attempts, round trip, latency and rendition files)
or skipped. A restarted gateway finds every stream as it stood and its segments on
disk: an encoder can reconnect and carry on, and the recording is whole.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framemesh.gateway.core.leases import LeasedRows, lease_columns
from framemesh.gateway.core.records import RecordStore
from framemesh.migrations import AddColumn
from framemesh.gateway.core.states import check_move
from framemesh.gateway.errors import JobNotFound
from framemesh.media.hls import Placed
from framemesh.sql import SQLDatabase
from framemesh.wire.states import StreamState, terminal_values

_SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    stream_key TEXT NOT NULL UNIQUE,
    profiles TEXT NOT NULL,
    record INTEGER NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    live_since REAL,
    ended_at REAL,
    recording TEXT,                -- the recording's master playlist, under the outputs directory
    fees TEXT NOT NULL DEFAULT '0',  -- wei paid for its segments
    swaps INTEGER NOT NULL DEFAULT 0,
    reconnects INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS stream_segments (
    stream_id TEXT NOT NULL REFERENCES streams(id),
    seq INTEGER NOT NULL,
    duration REAL NOT NULL,
    discontinuity INTEGER NOT NULL,
    first_frame_at REAL NOT NULL,
    state TEXT NOT NULL,           -- in_work, listed or skipped
    orchestrator TEXT,
    attempts INTEGER NOT NULL,
    round_trip REAL,
    latency REAL,
    files TEXT,                    -- JSON: rendition → [file, init bytes, media bytes]
    PRIMARY KEY (stream_id, seq)
);
CREATE TABLE IF NOT EXISTS stream_controls (
    stream_id TEXT NOT NULL REFERENCES streams(id),
    n INTEGER NOT NULL,            -- 1, 2, ... in the order asked
    params TEXT NOT NULL,          -- JSON: every setting in effect once it applies
    state TEXT NOT NULL,           -- pending, applied, rejected or unused
    requested_at REAL NOT NULL,
    effective_seq INTEGER,         -- the first segment made with it
    effective_at REAL,             -- when that segment was listed
    error TEXT,
    PRIMARY KEY (stream_id, n)
);
"""

LISTED, SKIPPED = "listed", "skipped"
# Sent out, not yet back: a row left so by a gateway that died is a segment lost with it
# (skipped when the stream is restored; counted as skipped meanwhile).
IN_WORK = "in_work"

_MOVES: dict[StreamState, frozenset[StreamState]] = {
    StreamState.IDLE: frozenset({StreamState.LIVE, StreamState.ENDED, StreamState.FAILED}),
    StreamState.LIVE: frozenset({StreamState.LIVE, StreamState.IDLE, StreamState.ENDED, StreamState.FAILED}),
    StreamState.ENDED: frozenset(),
    StreamState.FAILED: frozenset(),
}


@dataclass(frozen=True)
class StreamRecord:
    id: str
    name: str
    stream_key: str
    profiles: tuple[str, ...]
    record: bool
    state: StreamState
    error: str | None
    created: float
    updated: float
    live_since: float | None
    ended_at: float | None
    recording: str | None
    fees: int
    swaps: int
    reconnects: int
    ai: dict[str, Any] | None = None  # {"pipeline", "model_id", "params"}: the params in effect now


@dataclass(frozen=True)
class ControlRecord:
    stream_id: str
    n: int
    params: dict[str, Any]
    state: str
    requested_at: float
    effective_seq: int | None
    effective_at: float | None
    error: str | None


PENDING, APPLIED, REJECTED, UNUSED = "pending", "applied", "rejected", "unused"


@dataclass(frozen=True)
class SegmentRecord:
    stream_id: str
    seq: int
    duration: float
    discontinuity: bool
    first_frame_at: float
    state: str
    orchestrator: str | None
    attempts: int
    round_trip: float | None
    latency: float | None
    files: dict[str, Placed]


class StreamStore(RecordStore):
    NAME = "live"
    MIGRATIONS = (_SCHEMA, AddColumn("streams", "ai", "TEXT"), *lease_columns("streams"))

    def __init__(self, where: SQLDatabase | Path | str) -> None:
        super().__init__(where)
        ended = tuple(sorted(terminal_values(StreamState)))
        # A stream is held by the gateway taking its media (from its first segment on):
        # one never fed is no one's, and no gateway takes it over.
        self.leases = LeasedRows(
            self.database, "streams", f"state NOT IN ({', '.join('?' * len(ended))}) AND holder IS NOT NULL", ended
        )

    def add(
        self, stream_id: str, name: str, key: str, profiles: tuple[str, ...], record: bool,
        ai: dict[str, Any] | None = None,
    ) -> StreamRecord:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO streams (id, name, stream_key, profiles, record, state, created, updated, ai)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (stream_id, name, key, ",".join(profiles), int(record), StreamState.IDLE.value, now, now,
                 json.dumps(ai) if ai is not None else None),
            )
        return self.get(stream_id)

    # live AI settings: each change kept, with when it took effect

    def add_control(self, stream_id: str, params: dict[str, Any]) -> ControlRecord:
        """A settings change asked for (pending until a segment is made with it)."""
        now = time.time()
        with self.database.transaction():
            row = self._db.execute("SELECT COALESCE(MAX(n), 0) AS n FROM stream_controls WHERE stream_id = ?",
                                   (stream_id,)).fetchone()
            n = int(row["n"]) + 1
            self._db.execute(
                "INSERT INTO stream_controls (stream_id, n, params, state, requested_at) VALUES (?, ?, ?, ?, ?)",
                (stream_id, n, json.dumps(params), PENDING, now),
            )
        return ControlRecord(stream_id, n, params, PENDING, now, None, None, None)

    def control_applied(self, stream_id: str, n: int, seq: int, at: float, ai: dict[str, Any]) -> None:
        """Change `n` took effect with segment `seq`: it is the stream's settings from now on."""
        with self.database.transaction():
            self._db.execute(
                "UPDATE stream_controls SET state = ?, effective_seq = ?, effective_at = ? WHERE stream_id = ? AND n = ?",
                (APPLIED, seq, at, stream_id, n),
            )
            self._db.execute("UPDATE streams SET ai = ?, updated = ? WHERE id = ?", (json.dumps(ai), time.time(), stream_id))

    def control_rejected(self, stream_id: str, n: int, error: str) -> None:
        with self._lock:
            self._db.execute("UPDATE stream_controls SET state = ?, error = ? WHERE stream_id = ? AND n = ?",
                             (REJECTED, error[:1000], stream_id, n))

    def controls_unused(self, stream_id: str) -> int:
        """The stream ended: changes still pending will never be applied; returns how many."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE stream_controls SET state = ?, error = ? WHERE stream_id = ? AND state = ?",
                (UNUSED, "the stream ended before a segment was made with these settings", stream_id, PENDING),
            )
        return cursor.rowcount

    def controls(self, stream_id: str) -> list[ControlRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM stream_controls WHERE stream_id = ? ORDER BY n", (stream_id,)).fetchall()
        return [
            ControlRecord(r["stream_id"], r["n"], json.loads(r["params"]), r["state"], r["requested_at"],
                          r["effective_seq"], r["effective_at"], r["error"])
            for r in rows
        ]

    def get(self, stream_id: str) -> StreamRecord:
        with self._lock:
            row = self._db.execute("SELECT * FROM streams WHERE id = ?", (stream_id,)).fetchone()
        if row is None:
            raise JobNotFound(stream_id)
        return _stream(row)

    def by_key(self, key: str) -> StreamRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM streams WHERE stream_key = ?", (key,)).fetchone()
        return _stream(row) if row is not None else None

    def page(self, limit: int, offset: int = 0, *, owner: str | None = None) -> list[StreamRecord]:
        """A page of streams (of one API key's, given `owner`), newest first."""
        where, args = self.owned_by(owner)
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM streams WHERE {where} ORDER BY created DESC, id LIMIT ? OFFSET ?", (*args, limit, offset)
            ).fetchall()
        return [_stream(r) for r in rows]

    def unfinished(self) -> list[StreamRecord]:
        ended = tuple(sorted(terminal_values(StreamState)))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM streams WHERE state NOT IN ({', '.join('?' * len(ended))}) ORDER BY created", ended
            ).fetchall()
        return [_stream(r) for r in rows]

    def set_state(self, stream_id: str, new: StreamState, *, error: str | None = None, recording: str | None = None) -> StreamRecord:
        now = time.time()
        with self.database.transaction():
            old = self.get(stream_id)
            check_move(_MOVES, "a stream", old.state, new)
            self._db.execute(
                "UPDATE streams SET state = ?, updated = ?, error = COALESCE(?, error), recording = COALESCE(?, recording),"
                " live_since = CASE WHEN ? = 'live' AND live_since IS NULL THEN ? ELSE live_since END,"
                " ended_at = CASE WHEN ? IN ('ended', 'failed') THEN ? ELSE ended_at END WHERE id = ?",
                (new.value, now, error, recording, new.value, now, new.value, now, stream_id),
            )
        return self.get(stream_id)

    def set_recording(self, stream_id: str, recording: str) -> None:
        """The recording of a stream that ended: written by the gateway that took its media."""
        with self._lock:
            self._db.execute("UPDATE streams SET recording = ?, updated = ? WHERE id = ?", (recording, time.time(), stream_id))

    def count(self, stream_id: str, *, fees: int = 0, swaps: int = 0, reconnects: int = 0) -> None:
        with self.database.transaction():  # fees are text (wei outgrow 64 bits): read, add, write back
            row = self._db.execute("SELECT fees FROM streams WHERE id = ?", (stream_id,)).fetchone()
            self._db.execute(
                "UPDATE streams SET fees = ?, swaps = swaps + ?, reconnects = reconnects + ?, updated = ? WHERE id = ?",
                (str(int(row["fees"]) + fees), swaps, reconnects, time.time(), stream_id),
            )

    def add_segment(self, seg: SegmentRecord) -> None:
        files = {name: [p.name, p.init_size, p.media_size] for name, p in seg.files.items()}
        with self._lock:
            self._db.execute(
                "INSERT INTO stream_segments (stream_id, seq, duration, discontinuity, first_frame_at, state,"
                " orchestrator, attempts, round_trip, latency, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (stream_id, seq) DO UPDATE SET duration = excluded.duration,"
                " discontinuity = excluded.discontinuity, first_frame_at = excluded.first_frame_at, state = excluded.state,"
                " orchestrator = excluded.orchestrator, attempts = excluded.attempts, round_trip = excluded.round_trip,"
                " latency = excluded.latency, files = excluded.files",
                (seg.stream_id, seg.seq, seg.duration, int(seg.discontinuity), seg.first_frame_at, seg.state,
                 seg.orchestrator, seg.attempts, seg.round_trip, seg.latency, json.dumps(files)),
            )

    def segments(self, stream_id: str, *, last: int | None = None) -> list[SegmentRecord]:
        """Its finished segments in order (only the `last` ones, when given)."""
        with self._lock:
            if last is None:
                rows = self._db.execute("SELECT * FROM stream_segments WHERE stream_id = ? ORDER BY seq", (stream_id,)).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM (SELECT * FROM stream_segments WHERE stream_id = ? ORDER BY seq DESC LIMIT ?) AS last ORDER BY seq",
                    (stream_id, last),
                ).fetchall()
        return [_segment(r) for r in rows]

    def summary(self, stream_id: str) -> tuple[int, int, dict[str, int]]:
        """(segments listed, segments skipped, listed per orchestrator) of a stream."""
        with self._lock:
            rows = self._db.execute(
                "SELECT state, orchestrator, COUNT(*) AS n FROM stream_segments WHERE stream_id = ? GROUP BY state, orchestrator",
                (stream_id,),
            ).fetchall()
        listed = sum(r["n"] for r in rows if r["state"] == LISTED)
        skipped = sum(r["n"] for r in rows if r["state"] != LISTED)
        return listed, skipped, {r["orchestrator"]: r["n"] for r in rows if r["state"] == LISTED and r["orchestrator"]}

    def delete_ended(self, before: float) -> list[str]:
        """Forget the streams that ended before `before` (epoch seconds); returns their ids."""
        ended = tuple(sorted(terminal_values(StreamState)))
        with self.database.transaction():
            ids = [r["id"] for r in self._db.execute(
                f"SELECT id FROM streams WHERE state IN ({', '.join('?' * len(ended))}) AND updated < ?", (*ended, before)
            ).fetchall()]
            for table, column in (("stream_segments", "stream_id"), ("stream_controls", "stream_id"), ("streams", "id")):
                self._db.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(i,) for i in ids])
        return ids


def _stream(row: Any) -> StreamRecord:
    return StreamRecord(
        id=row["id"], name=row["name"], stream_key=row["stream_key"],
        profiles=tuple(p for p in row["profiles"].split(",") if p), record=bool(row["record"]),
        state=StreamState(row["state"]), error=row["error"], created=row["created"], updated=row["updated"],
        live_since=row["live_since"], ended_at=row["ended_at"], recording=row["recording"], fees=int(row["fees"]),
        swaps=row["swaps"], reconnects=row["reconnects"], ai=json.loads(row["ai"]) if row["ai"] else None,
    )


def _segment(row: Any) -> SegmentRecord:
    raw: dict[str, Any] = json.loads(row["files"]) if row["files"] else {}
    return SegmentRecord(
        stream_id=row["stream_id"], seq=row["seq"], duration=row["duration"], discontinuity=bool(row["discontinuity"]),
        first_frame_at=row["first_frame_at"], state=row["state"], orchestrator=row["orchestrator"],
        attempts=row["attempts"], round_trip=row["round_trip"], latency=row["latency"],
        files={name: Placed(f, row["duration"], init, media, bool(row["discontinuity"])) for name, (f, init, media) in raw.items()},
    )
