"""Redeeming winning tickets on-chain, in the background, until each one is paid.

A ticket is marked redeemed only when the chain says so (`usedTickets`), never on
the strength of a sent transaction; one that can no longer be redeemed (its round
has passed) is marked expired. Anything else is retried on the next pass, oldest
first, so tickets that are about to expire go first.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from framemesh.chain.errors import ChainError, ContractRevert
from framemesh.payments.ports import TicketChain
from framemesh.payments.ticket_store import TicketState, WinningTicketStore

log = logging.getLogger("framemesh.payments")


@dataclass
class RedeemPass:
    redeemed: int = 0
    expired: int = 0
    failed: int = 0
    face_value: int = 0


class Redeemer:
    def __init__(self, chain: TicketChain, store: WinningTicketStore, signer: Any, *, validity_period: int = 2) -> None:
        self.chain = chain
        self.store = store
        self.signer = signer
        self.validity_period = validity_period
        self.total = RedeemPass()

    def redeem_pending(self, limit: int = 100) -> RedeemPass:
        """One pass over the queue; returns what happened."""
        result = RedeemPass()
        for stored in self.store.pending(limit):
            ticket = stored.ticket
            key = ticket.hash()
            try:
                if self.chain.is_ticket_used(key):
                    self.store.mark(key, TicketState.REDEEMED)
                    result.redeemed += 1
                    continue
                if ticket.creation_round + self.validity_period <= self.chain.current_round():
                    self.store.mark(key, TicketState.EXPIRED, error="not redeemed within its validity period")
                    result.expired += 1
                    log.error("winning ticket %s expired before it could be redeemed", key.hex()[:12])
                    continue
                receipt = self.chain.redeem_winning_ticket(self.signer, ticket, stored.signature, stored.recipient_rand)
            except ContractRevert as exc:
                self.store.failed_attempt(key, exc.reason)
                result.failed += 1
                # A new round waits for someone to initialize it (the orchestrator's duties
                # do, within seconds): expected, not worth a warning.
                level = logging.INFO if "not initialized" in (exc.reason or "") else logging.WARNING
                log.log(level, "redeeming ticket %s: %s (will retry)", key.hex()[:12], exc.reason)
                continue
            except ChainError as exc:
                self.store.failed_attempt(key, str(exc))
                result.failed += 1
                log.warning("redeeming ticket %s: %s (will retry)", key.hex()[:12], exc)
                continue
            if self.chain.is_ticket_used(key):
                self.store.mark(key, TicketState.REDEEMED, tx_hash=getattr(receipt, "tx_hash", None))
                result.redeemed += 1
                result.face_value += ticket.face_value
                log.info("redeemed a winning ticket for %d wei (tx %s)", ticket.face_value, getattr(receipt, "tx_hash", "?"))
        self.total.redeemed += result.redeemed
        self.total.expired += result.expired
        self.total.failed += result.failed
        self.total.face_value += result.face_value
        return result

    async def run(self, interval: float = 2.0) -> None:
        """Redeem forever (until cancelled), one pass every `interval` seconds."""
        while True:
            try:
                await asyncio.to_thread(self.redeem_pending)
            except Exception:  # never let the redeemer die: the money waits in the store
                log.exception("redeemer pass failed; retrying")
            await asyncio.sleep(interval)
