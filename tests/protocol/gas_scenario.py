"""Gas of the contracts' hot paths, measured the honest way: one scenario, shared by
`test_gas.py` (which holds it to targets) and `benchmarks/gas.py` (which reports it).

Figures are whole-transaction gas: the EVM execution boa measures plus the 21,000
intrinsic gas and the calldata cost (16 per non-zero byte, 4 per zero byte).  Before
each measured call the earlier writes are committed and warm slots and addresses
forgotten (EIP-2929), as if it were a transaction of its own.  Each figure is taken in
a steady state (the orchestrator rewarded last round too, the round already has a
redeemed ticket or not, as named), with `DELEGATORS` delegators spread over the
orchestrators and hints computed off-chain as a client would.
"""

from __future__ import annotations

from typing import Any

import boa
from eth_account import Account

from . import tickets as tk
from .conftest import ZERO, Protocol, _deploy

DELEGATORS = 1000
ORCHESTRATOR_COUNTS = (1, 10, 100)
E18 = 10**18


def tx_gas(contract: Any, fn: str, *args: Any, sender: str, value: int = 0) -> int:
    """Whole-transaction gas of `contract.fn(*args)` sent by `sender` as a fresh transaction."""
    data = getattr(contract, fn).prepare_calldata(*args)
    # a fresh transaction: commit earlier writes (so SSTORE sees them as original
    # values) and forget warm slots and addresses (EIP-2929)
    boa.env.evm.vm.state.lock_changes()
    boa.env.evm.reset_access_counters()
    with boa.env.prank(sender):
        getattr(contract, fn)(*args, value=value) if value else getattr(contract, fn)(*args)
    execution = contract._computation.get_gas_used()
    calldata = sum(16 if b else 4 for b in data)
    return execution + 21_000 + calldata


def scenario(deployers: dict[str, Any], governor: str, n_orch: int, n_delegators: int = DELEGATORS) -> dict[str, int]:
    """Deploy (active set of 100), register `n_orch` orchestrators, bond `n_delegators`,
    play two rounds of rewards and fees, then measure each call once; name -> gas."""
    proto: Protocol = _deploy(governor, deployers, num_active=100)
    b = proto.bonding
    orchs = [boa.env.generate_address(f"gas-o{i}") for i in range(n_orch)]
    # distinct stakes: orchestrator i has (i + 1) * 1,000 tokens
    for i, o in enumerate(orchs):
        proto.register(o, (i + 1) * 1_000 * E18)
    delegators = [boa.env.generate_address(f"gas-d{i}") for i in range(n_delegators)]
    for i, d in enumerate(delegators):
        proto.bond(d, E18, orchs[i % n_orch])
    gateway = Account.create("gas-gateway")
    with boa.env.prank(gateway.address):
        boa.env.set_balance(gateway.address, 10**24)
        proto.broker.fundDepositAndReserve(10**20, 10**20, value=2 * 10**20)
    o = orchs[n_orch // 2]

    def redeem(nonce: int) -> int:
        rnd = proto.round()
        aux = tk.aux_data(rnd, bytes(proto.rounds.blockHashForRound(rnd)))
        rand = 1000 + nonce
        t = tk.Ticket(o, gateway.address, 10**15, 2**256 - 1, nonce, tk.rand_hash(rand), aux)
        return tx_gas(proto.broker, "redeemWinningTicket", t.as_tuple(), tk.sign(gateway.key, t), rand, sender=o)

    # two rounds of rewards and fees first: the steady state of an orchestrator at work
    for _ in range(2):
        proto.next_round()
        for x in orchs:
            proto.reward(x)
        redeem(proto.round())
    proto.next_round()

    out: dict[str, int] = {}
    out["reward"] = tx_gas(b, "reward", sender=o)
    out["redeemWinningTicket (first in round)"] = redeem(100)
    out["redeemWinningTicket"] = redeem(101)
    # the orchestrator takes its fees out (a claim: its own fee and reward tallies restart
    # from zero); the first ticket of the next round must not cost more for it
    out["withdrawFees"] = tx_gas(b, "withdrawFees", o, b.pendingFees(o, 0), sender=o)
    proto.next_round()
    out["redeemWinningTicket (first in round, after a claim)"] = redeem(102)
    proto.reward(o)
    # a new delegator bonds to o, with hints computed off-chain
    d = boa.env.generate_address("gas-new")
    proto.fund(d, 5 * E18)
    new_stake = b.transcoderTotalStake(o) + 5 * E18
    prev, nxt = proto.hints(o, new_stake)
    out["bond (new delegator, hints)"] = tx_gas(b, "bondWithHint", 5 * E18, o, ZERO, ZERO, prev, nxt, sender=d)
    # the same without hints: found from the orchestrator's old position
    d_plain = boa.env.generate_address("gas-new-plain")
    proto.fund(d_plain, 5 * E18)
    out["bond (new delegator, no hints)"] = tx_gas(b, "bond", 5 * E18, o, sender=d_plain)
    # an existing delegator (with earnings to claim) adds stake
    d0 = delegators[n_orch // 2]
    proto.fund(d0, 3 * E18)
    prev, nxt = proto.hints(o, b.transcoderTotalStake(o) + 3 * E18)
    out["bond (existing delegator, hints)"] = tx_gas(b, "bondWithHint", 3 * E18, o, ZERO, ZERO, prev, nxt, sender=d0)
    d1 = delegators[n_orch // 2 + n_orch]
    out["claimEarnings"] = tx_gas(b, "claimEarnings", proto.round(), sender=d1)
    prev, nxt = proto.hints(o, b.transcoderTotalStake(o) - E18 // 2)
    out["unbond (hints)"] = tx_gas(b, "unbondWithHint", E18 // 2, prev, nxt, sender=d1)
    proto.next_round(initialize=False)
    out["initializeRound"] = tx_gas(proto.rounds, "initializeRound", sender=d1)
    # o misses reward() in this round: its next reward also stores this round's factor
    proto.next_round()
    out["reward (after a missed round)"] = tx_gas(b, "reward", sender=o)
    return out


def measure(deployers: dict[str, Any], counts: tuple[int, ...] = ORCHESTRATOR_COUNTS, n_delegators: int = DELEGATORS) -> dict[int, dict[str, int]]:
    """`scenario` for each number of orchestrators, each on a chain of its own (committing
    state for honest figures must not leak into the caller's chain); n -> name -> gas."""
    results = {}
    for n in counts:
        with boa.swap_env(boa.Env()):
            results[n] = scenario(deployers, boa.env.generate_address("gas-governor"), n, n_delegators)
    return results
