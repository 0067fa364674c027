"""Bad and hostile payments at an orchestrator on the devnet: each refused with a 402
that says what is wrong, and no key ever in a log."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from framemesh.chain.keys import Signer
from framemesh.devnet import Devnet, DevnetConfig, _key
from framemesh.media.segment import split_segments
from framemesh.payments.sender import TicketSender
from framemesh.wire.payment import PAYMENT_HEADER, PaymentWire, TicketParamsWire


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    # Three slots each, so jobs really run at once (the concurrent attack below).
    with Devnet(DevnetConfig(root=tmp_path_factory.mktemp("attacks"), capacity=3)) as devnet:
        yield devnet


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory, clip: Path):  # type: ignore[no-untyped-def]
    return split_segments(clip, tmp_path_factory.mktemp("segs"))[0]


def funded(net: Devnet, i: int) -> Signer:
    """A gateway account of its own (with a deposit), so tests don't share credit."""
    who = Signer.from_key((0xA770 + i).to_bytes(32, "big"))
    net.chain.send_eth(who.address, 2 * 10**18, net.deployer)
    net.protocol.fund_deposit_and_reserve(who, 10**18, 10**17)
    return who


def params(url: str, sender: str) -> TicketParamsWire:
    return TicketParamsWire.model_validate(httpx.get(f"{url}/ticket-params", params={"sender": sender}).json())


def post(url: str, segment, header: str | None) -> httpx.Response:  # type: ignore[no-untyped-def]
    headers = {"content-type": "video/x-matroska"}
    if header is not None:
        headers[PAYMENT_HEADER] = header
    return httpx.post(
        f"{url}/transcode", params={"profiles": "240p", "job_id": "attack", "segment": 0, "duration": segment.duration},
        content=segment.path.read_bytes(), headers=headers, timeout=120,
    )


def pay(sender: TicketSender, wire: TicketParamsWire, price: int) -> str:
    p = wire.params()
    return PaymentWire.of(sender.pay(p, price), p, sender.signer.address).header()


def code(response: httpx.Response) -> str:
    assert response.status_code == 402, response.text
    detail = response.json()["detail"]
    assert detail["msg"]
    return str(detail["code"])


PRICE = 2 * 10**10  # about three 240p segments at the devnet price: enough when valid


def test_paid_jobs_run_then_a_gateway_that_stops_paying_is_refused(net: Devnet, segment) -> None:  # type: ignore[no-untyped-def]
    url = net.orchestrators[1].url
    payer = funded(net, 1)
    wire = params(url, payer.address)
    ok = post(url, segment, pay(TicketSender(payer), wire, PRICE))
    assert ok.status_code == 200, ok.text[:300]
    # it keeps sending jobs, with its identity but no new tickets: its credit runs out
    no_tickets = PaymentWire(sender=payer.address, params=wire, tickets=[]).header()
    answers = [post(url, segment, no_tickets).status_code for _ in range(6)]
    assert answers[0] == 200 and 402 in answers
    assert answers[answers.index(402):] == [402] * (len(answers) - answers.index(402))
    refused = post(url, segment, no_tickets)
    assert code(refused) == "insufficient_payment"
    assert int(refused.json()["detail"]["price"]) > 0
    assert code(post(url, segment, None)) == "payment_required"


def test_replayed_payment(net: Devnet, segment) -> None:  # type: ignore[no-untyped-def]
    url = net.orchestrators[1].url
    payer = funded(net, 2)
    header = pay(TicketSender(payer), params(url, payer.address), 1)  # one ticket: less than a job's price
    assert code(post(url, segment, header)) == "insufficient_payment"
    replay = post(url, segment, header)
    assert code(replay) == "replayed" and "already used" in replay.json()["detail"]["msg"]


def test_forged_signature(net: Devnet, segment) -> None:  # type: ignore[no-untyped-def]
    url = net.orchestrators[1].url
    payer = funded(net, 3)
    wire = params(url, payer.address)
    forger = TicketSender(Signer.from_key(b"\x66" * 32))
    p = wire.params()
    payment = forger.pay(p, PRICE)
    header = PaymentWire.of(payment, p, payer.address).header()  # claims to be the funded gateway
    assert code(post(url, segment, header)) == "wrong_sender"


def test_tickets_for_another_orchestrator(net: Devnet, segment) -> None:  # type: ignore[no-untyped-def]
    a, b = net.orchestrators[0].url, net.orchestrators[1].url
    payer = funded(net, 4)
    header = pay(TicketSender(payer), params(a, payer.address), PRICE)
    assert code(post(b, segment, header)) == "wrong_recipient"


def test_altered_face_value(net: Devnet, segment) -> None:  # type: ignore[no-untyped-def]
    url = net.orchestrators[1].url
    payer = funded(net, 5)
    wire = params(url, payer.address)
    wire = wire.model_copy(update={"face_value": str(int(wire.face_value) * 1000)})
    assert code(post(url, segment, pay(TicketSender(payer), wire, PRICE))) == "unknown_params"


def test_expired_parameters(net: Devnet, segment) -> None:  # type: ignore[no-untyped-def]
    url = net.orchestrators[1].url
    payer = funded(net, 6)
    wire = params(url, payer.address)
    net.advance_rounds(3)
    assert code(post(url, segment, pay(TicketSender(payer), wire, PRICE))) == "expired"


def test_face_value_above_the_senders_funds(net: Devnet, segment) -> None:  # type: ignore[no-untyped-def]
    url = net.orchestrators[1].url
    broke = Signer.from_key(b"\x67" * 32)  # no deposit, no reserve
    assert code(post(url, segment, pay(TicketSender(broke), params(url, broke.address), PRICE))) == "insufficient_funds"


def test_garbage_header(net: Devnet, segment) -> None:  # type: ignore[no-untyped-def]
    r = post(net.orchestrators[1].url, segment, "not base64 json!")
    assert r.status_code == 400 and r.json()["detail"]["code"] == "bad_payment"


def test_no_key_in_any_log(net: Devnet, segment, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    url = net.orchestrators[0].url
    payer = Signer.from_key(_key(101))
    assert post(url, segment, pay(TicketSender(payer), params(url, payer.address), PRICE)).status_code == 200
    net.wait_redeemed()
    text = caplog.text + repr(payer) + str(net.orchestrators[0].signer)
    for secret in [_key(i).hex() for i in (1, 2, 100, 101)]:
        assert secret not in text and secret.lstrip("0") not in text


def test_jobs_sent_at_once_cannot_spend_one_credit_twice(net: Devnet, segment) -> None:  # type: ignore[no-untyped-def]
    """B5: credit for one more job, then three jobs at once with no new tickets: the
    orchestrator reserves each job's price as it admits it, so exactly one runs."""
    url = net.orchestrators[1].url
    payer = funded(net, 7)
    wire = params(url, payer.address)
    no_tickets = PaymentWire(sender=payer.address, params=wire, tickets=[]).header()
    price = int(post(url, segment, no_tickets).json()["detail"]["price"])
    ticket_value = Fraction(int(wire.face_value)) * int(wire.win_prob) / (2**256 - 1)
    assert ticket_value < price, "a ticket worth more than a job leaves room for two"
    p = wire.params()
    payment = TicketSender(payer).pay(p, 2 * price)
    first = post(url, segment, PaymentWire.of(payment, p, payer.address).header())
    assert first.status_code == 200, first.text[:300]
    left = payment.expected_value - price
    assert price <= left < 2 * price
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: post(url, segment, no_tickets), range(3)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 402, 402], statuses
    assert {code(a) for a in answers if a.status_code == 402} == {"insufficient_payment"}
