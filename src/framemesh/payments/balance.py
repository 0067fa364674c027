"""Credit and debit per counterparty, in exact wei fractions. No I/O.

The orchestrator credits each valid ticket's expected value to its sender and debits
the price of each job; a job starts only if the sender's balance covers it. The
gateway keeps the mirror image per orchestrator, so it sends just enough tickets:
the two stay in step because both count the same tickets and the same prices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction


@dataclass
class Balances:
    _balance: dict[str, Fraction] = field(default_factory=dict)

    def get(self, who: str) -> Fraction:
        return self._balance.get(who, Fraction(0))

    def credit(self, who: str, amount: Fraction | int) -> Fraction:
        if amount < 0:
            raise ValueError("a credit is never negative")
        self._balance[who] = self.get(who) + amount
        return self._balance[who]

    def debit(self, who: str, amount: Fraction | int) -> bool:
        """Take `amount` if the balance covers it; False (and nothing taken) if not."""
        if amount < 0:
            raise ValueError("a debit is never negative")
        if self.get(who) < amount:
            return False
        self._balance[who] = self.get(who) - amount
        return True

    def set(self, who: str, amount: Fraction | int) -> None:
        """Take the counterparty's figure (to re-align after a lost message)."""
        self._balance[who] = Fraction(amount)

    def shortfall(self, who: str, amount: Fraction | int) -> Fraction:
        return max(Fraction(0), Fraction(amount) - self.get(who))
