"""Which round a block is in: the RoundsManager's own formula, kept off-chain. Pure.

The contract packs three numbers (round length, the round and the start block of the
last length change) and computes ``round = update_round + (block - update_block) //
length``. A length change takes effect when a round is initialized, so the indexer
reads the three at every NewRound and knows the round of every block after it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoundClock:
    length: int
    update_round: int = 0
    update_block: int = 0

    def __post_init__(self) -> None:
        if self.length <= 0:
            raise ValueError(f"a round length is at least one block, got {self.length}")

    def round_of(self, block: int) -> int:
        """The round `block` is in (what ``currentRound()`` answers in that block)."""
        if block < self.update_block:  # before the last length change: not this clock's to say
            return self.update_round - (self.update_block - block + self.length - 1) // self.length
        return self.update_round + (block - self.update_block) // self.length

    def start_of(self, round_: int) -> int:
        """The first block of `round_`."""
        return self.update_block + (round_ - self.update_round) * self.length

    def to_json(self) -> dict[str, int]:
        return {"length": self.length, "update_round": self.update_round, "update_block": self.update_block}

    @classmethod
    def from_json(cls, data: dict[str, int]) -> RoundClock:
        return cls(int(data["length"]), int(data["update_round"]), int(data["update_block"]))
