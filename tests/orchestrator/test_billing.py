"""The orchestrator's billing on the embedded chain: a job's price is reserved from its
sender's credit when it is admitted, so jobs admitted together never count the same
credit (B5); settled on delivery (the unused part given back), released on failure."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from framemesh.net.api_errors import ApiError
from framemesh.orchestrator.billing import Billing
from framemesh.payments.recipient import RecipientTerms
from framemesh.payments.sender import TicketSender
from framemesh.wire.payment import PaymentWire, TicketParamsWire
from tests.payments.conftest import ETH, World, make_world

PRICE = 10**12  # wei per job: a hundredth of a ticket's expected value below


@pytest.fixture(scope="module")
def world() -> World:
    return make_world(round_length=1000)


@pytest.fixture
def billing(world: World, tmp_path: Path) -> Iterator[Billing]:
    terms = RecipientTerms.for_probability(ETH // 1000, Fraction(1, 10))  # 10**14 wei a ticket, expected
    billing = Billing(world.protocol, world.orchestrator, tmp_path, terms, price_per_pixel=1)
    yield billing
    billing.close()


async def _credit(billing: Billing, world: World, jobs: int) -> tuple[str, Fraction]:
    """Pay for about `jobs` jobs in one payment; returns a ticketless header (the same
    sender, nothing new) and the credit the tickets gave."""
    params = await asyncio.to_thread(billing.recipient.params_for, world.gateway.address)
    payment = TicketSender(world.gateway).pay(params, jobs * PRICE)
    header = PaymentWire.of(payment, params, world.gateway.address).header()
    held = await billing.take_payment(header, 0)
    billing.settle(held)
    empty = PaymentWire(sender=world.gateway.address, params=TicketParamsWire.of(params), tickets=[]).header()
    return empty, billing.recipient.balance(world.gateway.address)


async def test_jobs_admitted_together_never_share_credit(billing: Billing, world: World) -> None:
    empty, credit = await _credit(billing, world, 1)
    covered = int(credit // PRICE)
    assert covered >= 1
    tries = covered + 5
    outcomes = await asyncio.gather(*(billing.take_payment(empty, PRICE) for _ in range(tries)), return_exceptions=True)
    held = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, ApiError)]
    assert len(held) == covered, f"{len(held)} jobs admitted against credit for {covered}"
    assert len(refused) == tries - covered and {e.code for e in refused} == {"insufficient_payment"}
    assert billing.recipient.balance(world.gateway.address) == credit - covered * PRICE >= 0
    for h in held:
        billing.release(h)
    assert billing.recipient.balance(world.gateway.address) == credit


async def test_a_delivered_job_keeps_its_price_and_gives_back_the_rest(billing: Billing, world: World) -> None:
    empty, credit = await _credit(billing, world, 3)
    held = await billing.take_payment(empty, 3 * PRICE)
    assert billing.settle(held, PRICE) == PRICE  # it used a third of its bound
    assert billing.recipient.balance(world.gateway.address) == credit - PRICE
    assert billing.settle(held) == 0 and billing.recipient.balance(world.gateway.address) == credit - PRICE, "settled once"
    billing.release(held)
    assert billing.recipient.balance(world.gateway.address) == credit - PRICE, "a settled job is not also released"
    with pytest.raises(ValueError, match="outside"):
        billing.settle(await billing.take_payment(empty, PRICE), 2 * PRICE)


async def test_a_job_that_fails_gives_its_whole_price_back(billing: Billing, world: World) -> None:
    empty, credit = await _credit(billing, world, 2)
    held = await billing.take_payment(empty, PRICE)
    billing.release(held)
    billing.release(held)
    assert billing.recipient.balance(world.gateway.address) == credit
    assert billing.paid_jobs == 1 and billing.fees_charged == 0, "only the crediting payment was settled (for 0)"
