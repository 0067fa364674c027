"""One gateway process per chain account, claimed in the gateway's database: on SQLite
and PostgreSQL alike, each store below its own connection, as two processes have."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from framemesh.gateway.core.senders import STALE_AFTER, Holder, SenderClaim, SenderClaims, SenderInUse
from framemesh.sql import DatabaseError

A = "0x00000000000000000000000000000000000000A1"
B = "0x00000000000000000000000000000000000000B2"
T0 = 1_700_000_000.0


def _other(pid: int = 1) -> Holder:
    """Another gateway process: another host, so this one cannot tell whether it lives."""
    return Holder(os.urandom(8).hex(), "gateway-elsewhere", pid)


def test_an_account_is_claimed_once_and_a_live_claim_is_refused(records_db: Path | str) -> None:
    first, second = SenderClaims(records_db), SenderClaims(records_db)
    one, two = _other(), _other()
    assert first.claim(A, one, T0) is None
    held = second.claim(A, two, T0 + 1)
    assert held is not None and held.holder == one and held.heartbeat == T0, "the live claim, untouched"
    assert second.claim(B, two, T0 + 1) is None, "another account is free"
    assert first.claim(A, one, T0 + 2) is None, "its holder claiming again keeps it"
    assert second.holder(A).holder == one and second.holder(B).holder == two  # type: ignore[union-attr]
    first.close()
    second.close()


def test_a_claim_whose_holder_stopped_beating_is_taken_over(records_db: Path | str) -> None:
    first, second = SenderClaims(records_db), SenderClaims(records_db)
    one, two = _other(), _other()
    assert first.claim(A, one, T0) is None
    assert first.beat(A, one, T0 + 20)
    assert second.claim(A, two, T0 + 20 + STALE_AFTER - 1) is not None, "beaten within the bound: still live"
    assert second.claim(A, two, T0 + 20 + STALE_AFTER + 1) is None, "silent past the bound: taken over"
    assert second.holder(A).holder == two  # type: ignore[union-attr]
    assert not first.beat(A, one, T0 + 60), "the old holder learns it lost the account"
    first.release(A, one)  # and its release leaves the new holder's claim alone
    assert second.holder(A).holder == two  # type: ignore[union-attr]
    first.close()
    second.close()


def test_a_released_claim_is_free_at_once(records_db: Path | str) -> None:
    first, second = SenderClaims(records_db), SenderClaims(records_db)
    one, two = _other(), _other()
    assert first.claim(A, one, T0) is None
    first.release(A, one)
    assert first.holder(A) is None
    assert second.claim(A, two, T0 + 1) is None
    first.close()
    second.close()


def test_a_second_process_with_the_same_account_is_told_what_to_do(records_db: Path | str) -> None:
    store = SenderClaims(records_db)
    assert store.claim(A, _other(pid=4242), time.time()) is None
    with pytest.raises(SenderInUse) as refused:
        SenderClaim.take(store.database, A)
    assert isinstance(refused.value, DatabaseError)  # the CLI's one line and exit code
    words = str(refused.value)
    assert A in words and "gateway-elsewhere" in words and "pid 4242" in words
    assert "its own --keystore" in words and "framemesh deposit fund" in words
    store.close()


def test_a_claim_of_a_process_gone_from_this_host_is_taken_at_once(records_db: Path | str) -> None:
    store = SenderClaims(records_db)
    exited = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = Holder("crashed", socket.gethostname(), int(exited.stdout))
    assert dead.gone()
    assert store.claim(A, dead, time.time()) is None
    claim = SenderClaim.take(store.database, A)  # its heartbeat is fresh, but its process is gone
    assert store.holder(A).holder == claim.me  # type: ignore[union-attr]
    assert not Holder("alive", socket.gethostname(), os.getppid()).gone() and not claim.me.gone()
    claim.release()
    assert store.holder(A) is None
    store.close()


def test_the_heartbeat_keeps_the_claim_and_a_lost_one_stops_the_process(records_db: Path | str) -> None:
    store = SenderClaims(records_db)
    claim = SenderClaim.take(store.database, A, stale_after=0.2)
    first_beat = store.holder(A).heartbeat  # type: ignore[union-attr]
    lost: list[bool] = []

    async def go() -> None:
        task = asyncio.create_task(claim.run(lambda: lost.append(True)))
        await asyncio.sleep(0.3)
        assert store.holder(A).heartbeat > first_beat and claim.held and not lost  # type: ignore[union-attr]
        # another process took it over (this one stalled past the bound)
        store.release(A, claim.me)
        assert store.claim(A, _other(), 0.0) is None
        await asyncio.wait_for(task, 5)

    asyncio.run(go())
    assert lost == [True] and not claim.held
    claim.release()  # lost: nothing to release, the other's claim stays
    assert store.holder(A).holder.host == "gateway-elsewhere"  # type: ignore[union-attr]
    store.close()
