"""What the payments part needs from a chain: a handful of reads and one write.

`framemesh.protocol.network.Protocol` provides these; tests may pass anything with
the same methods. The methods are synchronous: async callers run them in a thread.
"""

from __future__ import annotations

from typing import Any, Protocol

from framemesh.payments.ticket import Ticket


class SenderInfoLike(Protocol):
    deposit: int
    withdraw_round: int
    reserve: int


class TicketChain(Protocol):
    def current_round(self) -> int: ...
    def current_round_start_block(self) -> int: ...
    def round_length(self) -> int: ...
    def block_hash_for_round(self, round_: int) -> bytes: ...
    def sender_info(self, sender: str) -> SenderInfoLike: ...
    def claimable_reserve(self, holder: str, claimant: str) -> int: ...
    def is_ticket_used(self, ticket_hash: bytes) -> bool: ...
    def redeem_winning_ticket(self, sender: Any, ticket: Ticket, signature: bytes, recipient_rand: int) -> Any: ...

    @property
    def block_number(self) -> int: ...
