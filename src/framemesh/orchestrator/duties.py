"""An orchestrator's duties each round: initialize the round if no one has, and call
`reward()` once while it is active, logging what it earned."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from framemesh.chain.errors import ChainError, ContractRevert

log = logging.getLogger("framemesh.orchestrator")


@dataclass
class RoundDuties:
    protocol: Any
    signer: Any
    rewards: dict[int, int] = field(default_factory=dict)  # round -> tokens minted to our pool
    initialized: list[int] = field(default_factory=list)
    # reward() calls by outcome: minted, refused (reverted), error (the chain failed us)
    calls: Counter[str] = field(default_factory=Counter)

    def once(self) -> None:
        """Do whatever this round still needs; safe to call any number of times."""
        proto, me = self.protocol, self.signer
        if proto.round_needs_initializing():  # the round our next transaction runs in
            try:
                proto.initialize_round(me)
                self.initialized.append(proto.current_round())
                log.info("initialized round %d", proto.current_round())
            except ContractRevert as exc:
                log.debug("round not initialized by us: %s", exc.reason)
                if not proto.round_initialized():
                    return
        current = proto.current_round()
        if current in self.rewards or not proto.is_active(me.address):
            return
        _, _, last_reward_round = proto.terms(me.address)
        if last_reward_round >= current:
            self.rewards.setdefault(current, 0)
            return
        before = proto.total_supply()
        try:
            proto.reward(me)
        except ContractRevert as exc:
            self.calls["refused"] += 1
            log.warning("reward() in round %d refused: %s", current, exc.reason)
            return
        except ChainError:
            self.calls["error"] += 1
            raise
        self.calls["minted"] += 1
        minted = proto.total_supply() - before
        self.rewards[current] = minted
        log.info("round %d: reward() minted %d wei of stake for this orchestrator's pool", current, minted)

    async def run(self, interval: float = 2.0) -> None:
        while True:
            try:
                await asyncio.to_thread(self.once)
            except ChainError as exc:
                log.warning("round duties: %s", exc)
            except Exception:
                log.exception("round duties failed; retrying")
            await asyncio.sleep(interval)
