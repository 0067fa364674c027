"""One gateway process per chain account: which process signs tickets as which
sender, claimed in the gateway's database.

A sender's ticket state lives in the memory of the process that signs: the next nonce
per set of ticket parameters, and its mirror of the balance each orchestrator keeps for
it (`payments.sender`). An orchestrator keeps one balance and one max float per sender
address, not per process, so two processes signing as one account would each mirror a
balance the other also moves: each 402 would re-align one of them to a figure that
counts the other's credit too, one's jobs would spend the credit the other sent, and
both would draw on one deposit neither sees whole. (Their tickets would not collide —
each process fetches its own parameters, with a fresh seed and so a fresh
recipientRandHash — but the money they track would.) So each gateway process signs as
its own account, with its own deposit and reserve, and claims it here before it pays:
a second live process starting with the same account on the same database is refused
(`SenderInUse`).

A claim is kept alive by a heartbeat (`SenderClaim.run`). One whose holder has not
beaten for `STALE_AFTER` seconds may be taken over (a crashed gateway restarted); on
the holder's own host, one whose process is gone is taken over at once. A claim is
released on a clean stop. Times are the processes' wall clocks: hosts sharing one
database keep theirs in step (NTP) far closer than the bound.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from framemesh.gateway.core.records import RecordStore
from framemesh.sql import DatabaseInUse, SQLDatabase

log = logging.getLogger("framemesh.gateway")

# Seconds without a heartbeat after which another process may take the account over.
STALE_AFTER = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sender_claims (
    address TEXT PRIMARY KEY,   -- the account the holder signs tickets as (checksummed)
    holder TEXT NOT NULL,       -- the holding process's id, new at each start
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    claimed REAL NOT NULL,      -- Unix seconds
    heartbeat REAL NOT NULL     -- Unix seconds of its last heartbeat
);
"""


class SenderInUse(DatabaseInUse):
    """Another live gateway process signs tickets as this account on this database."""


@dataclass(frozen=True)
class Holder:
    """A gateway process, as a claim names it."""

    id: str
    host: str
    pid: int

    @classmethod
    def this_process(cls) -> "Holder":
        return cls(uuid.uuid4().hex, socket.gethostname(), os.getpid())

    def gone(self) -> bool:
        """This process's host can tell the holder's process has exited (same host, no such pid)."""
        if self.host != socket.gethostname() or self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, someone else's
            return False
        return False


@dataclass(frozen=True)
class Claim:
    address: str
    holder: Holder
    claimed: float
    heartbeat: float


class SenderClaims(RecordStore):
    NAME = "senders"
    MIGRATIONS = (_SCHEMA,)

    def claim(self, address: str, me: Holder, now: float, stale_after: float = STALE_AFTER) -> Claim | None:
        """Claim `address` for `me` if no one holds it, its holder stopped beating
        `stale_after` seconds ago, or it is `me` already; else the live claim (nothing taken)."""
        with self._db.transaction():
            cur = self._db.execute(
                "INSERT INTO sender_claims (address, holder, host, pid, claimed, heartbeat) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (address) DO UPDATE SET holder = excluded.holder, host = excluded.host,"
                " pid = excluded.pid, claimed = excluded.claimed, heartbeat = excluded.heartbeat"
                " WHERE sender_claims.heartbeat < ? OR sender_claims.holder = ?",
                (address, me.id, me.host, me.pid, now, now, now - stale_after, me.id),
            )
            if cur.rowcount == 1:
                return None
            return self.holder(address)

    def take_over(self, address: str, me: Holder, previous: Holder, now: float) -> bool:
        """Take `address` from `previous` (known to be gone), if it still holds it."""
        cur = self._db.execute(
            "UPDATE sender_claims SET holder = ?, host = ?, pid = ?, claimed = ?, heartbeat = ?"
            " WHERE address = ? AND holder = ?",
            (me.id, me.host, me.pid, now, now, address, previous.id),
        )
        return cur.rowcount == 1

    def beat(self, address: str, me: Holder, now: float) -> bool:
        """Keep `me`'s claim alive; False if it is no longer `me`'s (it was taken over)."""
        cur = self._db.execute(
            "UPDATE sender_claims SET heartbeat = ? WHERE address = ? AND holder = ?", (now, address, me.id)
        )
        return cur.rowcount == 1

    def release(self, address: str, me: Holder) -> None:
        """Give the account up (a clean stop); a claim another process holds now stays."""
        self._db.execute("DELETE FROM sender_claims WHERE address = ? AND holder = ?", (address, me.id))

    def holder(self, address: str) -> Claim | None:
        row = self._db.execute(
            "SELECT address, holder, host, pid, claimed, heartbeat FROM sender_claims WHERE address = ?", (address,)
        ).fetchone()
        if row is None:
            return None
        return Claim(row["address"], Holder(row["holder"], row["host"], int(row["pid"])), row["claimed"], row["heartbeat"])


class SenderClaim:
    """This process's claim on the account it signs tickets as, while it runs."""

    def __init__(self, store: SenderClaims, address: str, me: Holder, *, stale_after: float = STALE_AFTER) -> None:
        self.store = store
        self.address = address
        self.me = me
        self.stale_after = stale_after
        self.held = True

    @classmethod
    def take(cls, database: SQLDatabase, address: str, *, stale_after: float = STALE_AFTER) -> "SenderClaim":
        """Claim `address` in `database` for this process, or raise `SenderInUse`."""
        store = SenderClaims(database)
        me = Holder.this_process()
        now = time.time()
        live = store.claim(address, me, now, stale_after)
        if live is not None and live.holder.gone() and store.take_over(address, me, live.holder, now):
            log.info("sender %s: took the claim of gateway pid %d on this host (it exited)", address, live.holder.pid)
            live = None
        if live is not None:
            raise SenderInUse(
                f"{database.location}: account {address} already signs tickets for another gateway process on this "
                f"database (host {live.holder.host}, pid {live.holder.pid}, last heartbeat {max(0.0, now - live.heartbeat):.0f} s ago). "
                "Each orchestrator keeps one balance per account, so two processes paying as one would each keep a "
                "wrong count of it: give each gateway its own --keystore (framemesh chain new-account) and fund its "
                "deposit and reserve (framemesh deposit fund). If that process has stopped, this account is free "
                f"{stale_after:.0f} s after its last heartbeat."
            )
        return cls(store, address, me, stale_after=stale_after)

    async def run(self, on_lost: Callable[[], None]) -> None:
        """Beat a few times per `stale_after`, until cancelled. If the claim was taken
        over (this process stalled, or lost the database, past the bound, and another
        started with the account), stop paying at once: `on_lost`."""
        while True:
            await asyncio.sleep(self.stale_after / 4)
            try:
                self.held = await asyncio.to_thread(self.store.beat, self.address, self.me, time.time())
            except Exception as exc:  # the database may be down for a moment: beat again soon
                log.warning("sender %s: heartbeat not recorded: %s", self.address, exc)
                continue
            if not self.held:
                log.error(
                    "sender %s: another gateway process took this account over (this one missed its heartbeats "
                    "for over %.0f s); stopping, as two processes must not pay as one account", self.address, self.stale_after,
                )
                on_lost()
                return

    def release(self) -> None:
        if self.held:
            try:
                self.store.release(self.address, self.me)
            except Exception as exc:  # taken over when stale, in the worst case
                log.warning("sender %s: claim not released: %s", self.address, exc)
