"""Ticket throughput on one core: signing (gateway) and validating (orchestrator).

framemesh signs and recovers through libsecp256k1 (coincurve), one ticket at a time,
the way a gateway pays per segment. Side by side, the same work done the way most
Python code would: eth-account's `sign_message` / `recover_message`. Validation is
the orchestrator's whole check (signature, recipient, HMAC-bound parameters, expiry,
funds, nonce), not just the signature.

Run:  python benchmarks/tickets.py [--seconds 3] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import time
from fractions import Fraction

from eth_account import Account
from eth_account.messages import encode_defunct

from framemesh.chain.keys import Signer
from framemesh.payments.params import make_params
from framemesh.payments.sender import TicketSender
from framemesh.payments.ticket import win_prob_for
from framemesh.payments.validation import ChainView, SenderFunds, TicketValidator

from report import update_section  # benchmarks/report.py

KEY = b"\x07" * 32
ORCH = "0x" + "11" * 20
SECRET = b"s" * 32
PREFIX = b"bench:"
HASH = b"\xab" * 32


def _params(sender: str):  # type: ignore[no-untyped-def]
    return make_params(
        SECRET, recipient=ORCH, sender=sender, seed=PREFIX + b"x" * 26, face_value=10**15,
        win_prob=win_prob_for(Fraction(1, 1000)), expiration_block=10**9, creation_round=5,
        creation_round_block_hash=HASH,
    )


def rate(fn, seconds: float) -> float:  # type: ignore[no-untyped-def]
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            fn()
        n += 100
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    signer = Signer.from_key(KEY)
    account = Account.from_key(KEY)
    params = _params(signer.address)
    sender = TicketSender(signer)
    price = int(params.face_value * Fraction(1, 1000))  # one ticket per payment

    def fm_sign() -> None:
        sender.pay(params, price)

    nonce = [10**6]

    def plain_sign() -> None:
        nonce[0] += 1
        t = params.ticket(signer.address, nonce[0])
        account.sign_message(encode_defunct(primitive=t.hash()))

    tickets = [sender.pay(params, price).tickets[0] for _ in range(20_000)]
    chain = ChainView(current_round=5, current_block=100, round_block_hashes={5: HASH})
    funds = SenderFunds(deposit=10**20, reserve_allocation=0)
    validator = TicketValidator(ORCH, SECRET, PREFIX)
    it = iter(tickets * 100)

    def fm_validate() -> None:
        t = next(it)
        try:
            validator.validate(t.ticket, t.signature, seed=params.seed, expiration_block=params.expiration_block, chain=chain, funds=funds)
        except Exception:  # a replay once the list wraps: still the full check
            pass

    it2 = iter(tickets * 100)

    def plain_recover() -> None:
        t = next(it2)
        Account.recover_message(encode_defunct(primitive=t.ticket.hash()), signature=t.signature)

    rows = [
        ("create + sign a ticket (gateway)", rate(fm_sign, args.seconds), rate(plain_sign, args.seconds)),
        ("validate a ticket (orchestrator)", rate(fm_validate, args.seconds), rate(plain_recover, args.seconds)),
    ]
    lines = [
        f"One core; each rate measured over {args.seconds:g} s. Command: `python benchmarks/tickets.py`. "
        "Target: 5,000 per second each way.",
        "",
        "| operation | framemesh (per s) | eth-account sign/recover only (per s) | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, ours, theirs in rows:
        lines.append(f"| {name} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.1f}x |")
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        update_section("tickets", "Tickets", body)



if __name__ == "__main__":
    main()
