"""The gateway's one payment policy (`pay_and_call`), shared by segments, AI jobs and
LLM answers: a 402 is fixed and paid again a few times within one call, never counted
across calls; a failure takes the payment back unless the orchestrator charged for it."""

from __future__ import annotations

from fractions import Fraction

import pytest

from framemesh.gateway.errors import PeerBusy, PeerFailed, PeerUnpaid
from framemesh.gateway.core.payer import PAY_TRIES, pay_and_call

URL = "http://o"


class Ledger:
    """The payer's five moves, recorded (a stand-in for the chain-backed GatewayPayer)."""

    def __init__(self) -> None:
        self.moves: list[tuple[str, object]] = []
        self.paid = 0

    async def pay(self, url: str, price: int, ahead: int = 0) -> tuple[str, str]:
        self.paid += 1
        self.moves.append(("pay", price))
        return f"payment-{self.paid}", f"payment-{self.paid}"

    def unread(self, payment: str) -> None:
        self.moves.append(("unread", payment))

    def refund(self, url: str, price: int) -> None:
        self.moves.append(("refund", price))

    def forget(self, url: str) -> None:
        self.moves.append(("forget", url))

    def resync(self, url: str, balance: Fraction) -> None:
        self.moves.append(("resync", balance))


def refusing(times: int, code: str = "insufficient_payment", balance: str | None = "7/2"):  # type: ignore[no-untyped-def]
    seen: list[str | None] = []

    async def call(payment: str | None) -> str:
        seen.append(payment)
        if len(seen) <= times:
            raise PeerUnpaid(URL, code, "not enough", balance)
        return "done"

    return call, seen


async def test_a_402_is_fixed_and_paid_again_within_the_call() -> None:
    ledger = Ledger()
    call, seen = refusing(PAY_TRIES - 1)
    assert await pay_and_call(ledger, URL, 10, call) == "done"  # type: ignore[arg-type]
    assert seen == [f"payment-{n}" for n in range(1, PAY_TRIES + 1)]
    assert ("resync", Fraction(7, 2)) in ledger.moves


async def test_the_count_of_402s_is_per_call_not_per_orchestrator() -> None:
    """B3: earlier calls' refusals never turn a later call's first 402 into a failure."""
    ledger = Ledger()
    for _ in range(5):
        call, _seen = refusing(PAY_TRIES - 1)
        assert await pay_and_call(ledger, URL, 10, call) == "done"  # type: ignore[arg-type]


async def test_too_many_402s_in_one_call_are_a_failure() -> None:
    ledger = Ledger()
    call, seen = refusing(PAY_TRIES)
    with pytest.raises(PeerFailed, match="payment refused"):
        await pay_and_call(ledger, URL, 10, call)  # type: ignore[arg-type]
    assert len(seen) == PAY_TRIES
    assert ledger.moves.count(("refund", 10)) == PAY_TRIES, "every refused payment is taken back"


async def test_stale_parameters_are_dropped_and_a_402_with_nothing_to_fix_fails_at_once() -> None:
    ledger = Ledger()
    call, _ = refusing(1, code="expired", balance=None)
    assert await pay_and_call(ledger, URL, 10, call) == "done"  # type: ignore[arg-type]
    assert ("forget", URL) in ledger.moves
    call, seen = refusing(1, code="bad_signature", balance=None)
    with pytest.raises(PeerFailed):
        await pay_and_call(Ledger(), URL, 10, call)  # type: ignore[arg-type]
    assert len(seen) == 1


@pytest.mark.parametrize(
    "error, charged",
    [(PeerFailed(URL, "timeout", "slow"), False), (PeerFailed(URL, "bad_result", "x"), True)],
)
async def test_a_failure_takes_the_payment_back_unless_it_was_charged(error: Exception, charged: bool) -> None:
    ledger = Ledger()

    async def call(payment: str | None) -> str:
        raise error

    with pytest.raises(type(error)):
        await pay_and_call(ledger, URL, 10, call)  # type: ignore[arg-type]
    assert (("refund", 10) in ledger.moves) is not charged
    ledger = Ledger()
    with pytest.raises(type(error)):
        await pay_and_call(ledger, URL, 10, call, charged_on_bad_result=False)  # type: ignore[arg-type]
    assert ("refund", 10) in ledger.moves, "an answer it was not charged for is always taken back"


async def test_a_busy_answer_voids_the_payment_it_never_read() -> None:
    """An orchestrator says busy before it reads a payment (several gateways share it):
    the payment is void, not refunded (its tickets' credit never reached it)."""
    ledger = Ledger()

    async def call(payment: str | None) -> str:
        raise PeerBusy(URL, 1.0)

    with pytest.raises(PeerBusy):
        await pay_and_call(ledger, URL, 10, call)  # type: ignore[arg-type]
    assert ledger.moves == [("pay", 10), ("unread", "payment-1")]


async def test_off_chain_a_402_is_a_failure_and_nothing_is_paid() -> None:
    call, seen = refusing(1)
    with pytest.raises(PeerFailed):
        await pay_and_call(None, URL, 0, call)
    assert seen == [None]
