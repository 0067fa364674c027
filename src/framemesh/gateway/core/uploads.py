"""Outputs on their way to the object store: written to local disk first (as always),
then recorded here ("to upload"), then put in the store by `Uploader.run`, retried with
back-off while the store is down. A file leaves nothing behind on failure: it stays on
disk, the gateway serves it from there, and its row stays until it is stored.

The row is the durable record (the gateway's SQLite file, its own table): a gateway
restarted while the store was down uploads what it had left. The bytes put are the
file's bytes as written, so what the store holds is what was signed (C2PA).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from framemesh.gateway.core.records import RecordStore
from framemesh.migrations import AddColumn
from framemesh.sql import SQLDatabase
from framemesh.storage import ObjectStore, StoreError, StoreUnreachable

log = logging.getLogger("framemesh.gateway")

WORK = "work/"  # the store's keys of jobs' inputs; never an `/outputs/` path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS object_uploads (
    key TEXT PRIMARY KEY,      -- the output's path under the outputs folder ('/'-separated)
    added REAL NOT NULL,       -- Unix seconds
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,    -- Unix seconds; not tried before
    error TEXT,                -- the last failure
    stored REAL                -- Unix seconds it was stored; NULL: still to upload
);
CREATE INDEX IF NOT EXISTS object_uploads_due ON object_uploads (stored, next_try);
"""


@dataclass(frozen=True)
class Pending:
    key: str
    attempts: int
    error: str | None


def backoff(failures: int, first: float, most: float) -> float:
    """Seconds to wait after `failures` failures in a row: doubling from `first`, at most `most`."""
    return min(most, first * 2 ** max(0, failures - 1))


class UploadStore(RecordStore):
    """The rows of outputs to upload. Each is its writer's (`holder`, a gateway's name):
    with several gateways on one database, each uploads the files on its own disk (a
    gateway restarted under its name uploads what it left)."""

    NAME = "uploads"
    MIGRATIONS = (_SCHEMA, AddColumn("object_uploads", "holder", "TEXT"))

    def __init__(self, where: SQLDatabase | Path | str, holder: str = "") -> None:
        super().__init__(where)
        self.holder = holder

    # Rows from before holders (one gateway per database then) are anyone's.
    _MINE = "COALESCE(holder, '') IN (?, '')"

    def add(self, keys: Iterable[str], now: float) -> None:
        """Mark outputs to upload (again: a rewritten output goes up again)."""
        with self._lock:
            self._db.executemany(
                "INSERT INTO object_uploads (key, added, next_try, holder) VALUES (?, ?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET added = excluded.added, next_try = excluded.next_try, attempts = 0, error = NULL,"
                " stored = NULL, holder = excluded.holder",
                [(key, now, now, self.holder) for key in keys],
            )

    def due(self, now: float, limit: int) -> list[Pending]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT key, attempts, error FROM object_uploads WHERE stored IS NULL AND next_try <= ? AND {self._MINE}"
                " ORDER BY next_try, added LIMIT ?", (now, self.holder, limit),
            ).fetchall()
        return [Pending(row["key"], row["attempts"], row["error"]) for row in rows]

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT min(next_try) AS next FROM object_uploads WHERE stored IS NULL AND {self._MINE}", (self.holder,)
            ).fetchone()
        return row["next"]

    def waiting(self) -> int:
        """This gateway's outputs still to upload."""
        with self._lock:
            return self._db.execute(
                f"SELECT count(*) AS n FROM object_uploads WHERE stored IS NULL AND {self._MINE}", (self.holder,)
            ).fetchone()["n"]

    def stored(self, key: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT stored FROM object_uploads WHERE key = ?", (key,)).fetchone()
        return row is not None and row["stored"] is not None

    def keys(self, prefix: str) -> list[str]:
        """Every output recorded under `prefix`, whichever gateway wrote it."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key FROM object_uploads WHERE substr(key, 1, length(?)) = ? ORDER BY key", (prefix, prefix)
            ).fetchall()
        return [row["key"] for row in rows]

    def done(self, key: str, now: float) -> None:
        with self._lock:
            self._db.execute("UPDATE object_uploads SET stored = ?, error = NULL WHERE key = ?", (now, key))

    def failed(self, key: str, error: str, next_try: float) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE object_uploads SET attempts = attempts + 1, error = ?, next_try = ? WHERE key = ?",
                (error, next_try, key),
            )

    def forget(self, prefix: str) -> None:
        """Drop the rows of every key under `prefix` (its outputs were deleted)."""
        with self._lock:
            self._db.execute("DELETE FROM object_uploads WHERE substr(key, 1, length(?)) = ?", (prefix, prefix))


class Uploader:
    """Puts recorded outputs in the object store, a few at a time, in the background.

    While the store is unreachable every upload waits: one clear error is logged, then
    the store is tried again after 1, 2, 4, ... seconds (at most `max_delay`); the files
    stay on disk. Any other refusal (no such bucket, bad credentials) backs off per file
    the same way, and is logged each time: an operator has something to fix."""

    def __init__(
        self, objects: ObjectStore, records: UploadStore, outputs_dir: Path, *,
        first_delay: float = 1.0, max_delay: float = 60.0, parallel: int = 4, work_dir: Path | None = None,
    ) -> None:
        self.objects = objects
        self.records = records
        self.outputs_dir = outputs_dir
        # Jobs' inputs (a VOD job's source) go to the store too, under WORK, so that a
        # gateway on another machine can take a job over; they are never served.
        self.work_dir = work_dir
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.parallel = parallel
        self.outage = 0  # failures in a row of an unreachable store
        self.uploaded = 0
        self._wake = asyncio.Event()

    def key(self, path: Path) -> str:
        """The store's key of a file under the outputs folder (its `/outputs/` path), or
        under the work folder (WORK + its path there); ValueError for any other."""
        resolved = path.resolve()
        if self.work_dir is not None and resolved.is_relative_to(self.work_dir.resolve()):
            return WORK + resolved.relative_to(self.work_dir.resolve()).as_posix()
        return resolved.relative_to(self.outputs_dir.resolve()).as_posix()

    def path(self, key: str) -> Path:
        """Where the file of `key` is on this gateway's disk."""
        if key.startswith(WORK) and self.work_dir is not None:
            return self.work_dir / key[len(WORK):]
        return self.outputs_dir / key

    async def add(self, paths: Iterable[Path]) -> None:
        """Record outputs (files under the outputs folder, already written) to upload."""
        if not self.objects.remote:
            return
        keys = [self.key(p) for p in paths]
        await asyncio.to_thread(self.records.add, keys, time.time())
        self._wake.set()

    def stored(self, key: str) -> bool:
        """Whether the store holds this output (blocking: call off the loop)."""
        return self.objects.remote and self.records.stored(key)

    def fetch(self, path: Path) -> bool:
        """Bring an output another gateway's machine made (so it is not on this disk)
        from the store to `path`; whether it is on disk now. Blocking."""
        if path.is_file():
            return True
        try:
            key = self.key(path)
        except ValueError:
            return False
        if not self.stored(key):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part")
        partial.write_bytes(self.objects.get(key))
        partial.replace(path)
        return True

    def forget(self, directory: Path) -> None:
        """A directory of outputs was deleted (retention): delete the store's copies and
        their rows. Blocking. A store that is down then keeps them: logged, for the
        operator (a bucket lifecycle rule is the backstop, docs/operators.md)."""
        try:
            prefix = self.key(directory) + "/"
        except ValueError:  # not outputs (a job's working files)
            return
        if not self.objects.remote:
            return
        try:
            deleted = self.objects.delete(prefix)
        except StoreError as exc:
            log.error("object store: could not delete %s (retention): %s; delete it by hand or by a lifecycle rule",
                      prefix, exc)
            return
        self.records.forget(prefix)
        if deleted:
            log.info("object store: deleted %d object(s) under %s (retention)", deleted, prefix)

    async def run(self) -> None:
        try:
            await asyncio.to_thread(self.objects.check)
            log.info("object store %s: reachable", self.objects.describe())
        except StoreError as exc:  # the uploads wait and retry; the gateway serves from disk meanwhile
            log.error("object store: %s (outputs stay on local disk until it answers)", exc)
        while True:
            self._wake.clear()  # before the pass: an output added during it wakes the next at once
            try:
                pause = await self.pass_once()
            except Exception:  # a bug must not end the uploads for good
                log.exception("object store uploads: unexpected failure")
                pause = self.max_delay
            if pause > 0 and self.outage:  # the store is down: new outputs wait for the back-off too
                await asyncio.sleep(pause)
            elif pause > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=pause)
                except TimeoutError:
                    pass

    async def pass_once(self) -> float:
        """Upload what is due; the seconds to wait before the next pass."""
        while True:
            due = await asyncio.to_thread(self.records.due, time.time(), self.parallel * 4)
            if not due:
                break
            results = await asyncio.gather(*(self._upload(p) for p in due[: self.parallel]))
            down = [error for error in results if error is not None]
            if down:  # the store is down: one error, then wait before trying anything again
                self.outage += 1
                delay = backoff(self.outage, self.first_delay, self.max_delay)
                waiting = await asyncio.to_thread(self.records.waiting)
                log.error("object store: %s; %d output(s) wait on local disk, next try in %.0f s",
                          down[0], waiting, delay)
                return delay
        following = await asyncio.to_thread(self.records.next_due)
        return self.max_delay if following is None else max(0.0, min(self.max_delay, following - time.time()))

    async def _upload(self, item: Pending) -> StoreUnreachable | None:
        """Put one output; the error when the store is unreachable."""
        path = self.path(item.key)
        if not path.is_file():  # deleted before it went up (retention, a rewritten job)
            await asyncio.to_thread(self.records.forget, item.key)
            log.warning("object store: %s is no longer on disk; not uploaded", item.key)
            return None
        try:
            await asyncio.to_thread(self.objects.put, item.key, path)
        except StoreUnreachable as exc:
            await asyncio.to_thread(self.records.failed, item.key, str(exc), time.time())
            return exc
        except (StoreError, OSError) as exc:
            delay = backoff(item.attempts + 1, self.first_delay, self.max_delay)
            log.error("object store: %s; the file stays on local disk, next try in %.0f s", exc, delay)
            await asyncio.to_thread(self.records.failed, item.key, str(exc), time.time() + delay)
            return None
        if self.outage:
            log.info("object store %s: reachable again", self.objects.describe())
        self.outage = 0
        self.uploaded += 1
        await asyncio.to_thread(self.records.done, item.key, time.time())
        return None

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is left to upload (tests, benchmarks); whether it came to that."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await asyncio.to_thread(self.records.waiting) == 0:
                return True
            self._wake.set()
            await asyncio.sleep(0.05)
        return False
