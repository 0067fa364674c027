"""The contracts and the pure-Python model, held to the same numbers to the last wei.

A `Twin` plays every move on the deployed contracts (titanoboa) and on
`framemesh.protocol.model.Economy`: both accept it or both refuse it, and after every
move every number a holder can see is compared: total supply, inflation, bonding rate,
mintable, total bonded, the active set and its stake, each account's balance,
pendingStake, pendingFees, delegator record and unbonding locks.  Fees come from real
winning tickets redeemed at the TicketBroker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import boa
import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framemesh.protocol.model import ZERO, Economy, Params, Revert
from framemesh.protocol.simulate import SimConfig, Simulation

from . import tickets as tk
from .conftest import (
    INFLATION,
    INFLATION_CHANGE,
    NUM_ACTIVE,
    TARGET,
    UNBONDING_PERIOD,
    Protocol,
)

E18 = 10**18
ALWAYS = 2**256 - 1


class Twin:
    """The contracts and the model side by side."""

    def __init__(self, proto: Protocol, accounts: list[str]) -> None:
        self.proto = proto
        self.accounts = accounts
        self.gateway = Account.create("twin gateway")
        self.nonce = 0
        self.moves = 0
        boa.env.set_balance(self.gateway.address, 10**27)
        with boa.env.prank(self.gateway.address):
            proto.broker.fundDeposit(value=10**26)
        supply = int(proto.token.totalSupply())
        params = Params(inflation=INFLATION, inflation_change=INFLATION_CHANGE, target_bonding_rate=TARGET, unbonding_period=UNBONDING_PERIOD, num_active=NUM_ACTIVE)
        self.model = Economy(params, {proto.governor: supply})
        # the fixture initialized the deployment's first round with nothing bonded
        self.model.initialize_round(proto.round())
        for a in accounts:
            with boa.env.prank(a):
                proto.token.approve(proto.bonding.address, 2**256 - 1)
        self.check()

    # ------------------------------------------------------------ playing a move on both
    def both(self, on_chain: Callable[[], Any], on_model: Callable[[], Any]) -> bool:
        """Play a move on both; True if both accepted it, False if both refused it."""
        self.moves += 1
        try:
            on_chain()
            chain_ok, chain_reason = True, ""
        except boa.BoaError as e:
            chain_ok, chain_reason = False, str(e)
        try:
            on_model()
            model_ok, model_reason = True, ""
        except Revert as e:
            model_ok, model_reason = False, e.reason
        assert chain_ok == model_ok, f"chain {'accepted' if chain_ok else 'refused: ' + chain_reason[-300:]}; model {'accepted' if model_ok else 'refused: ' + model_reason}"
        if not chain_ok and model_reason != "division by zero":
            assert model_reason in chain_reason, (model_reason, chain_reason[-300:])
        return chain_ok

    def as_(self, who: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with boa.env.prank(who):
                return fn()

        return run

    def fund(self, who: str, amount: int) -> bool:
        p = self.proto
        return self.both(self.as_(p.governor, lambda: p.token.transfer(who, amount)), lambda: self.model.transfer(p.governor, who, amount))

    def bond(self, who: str, amount: int, to: str) -> bool:
        return self.both(self.as_(who, lambda: self.proto.bonding.bond(amount, to)), lambda: self.model.bond(who, amount, to))

    def register(self, who: str, stake: int, reward_cut: int, fee_share: int) -> None:
        assert self.fund(who, stake) and self.bond(who, stake, who) and self.transcoder(who, reward_cut, fee_share)

    def transcoder(self, who: str, reward_cut: int, fee_share: int) -> bool:
        return self.both(self.as_(who, lambda: self.proto.bonding.transcoder(reward_cut, fee_share)), lambda: self.model.transcoder(who, reward_cut, fee_share))

    def unbond(self, who: str, amount: int) -> bool:
        return self.both(self.as_(who, lambda: self.proto.bonding.unbond(amount)), lambda: self.model.unbond(who, amount))

    def rebond(self, who: str, lock_id: int) -> bool:
        return self.both(self.as_(who, lambda: self.proto.bonding.rebond(lock_id)), lambda: self.model.rebond(who, lock_id))

    def rebond_from_unbonded(self, who: str, to: str, lock_id: int) -> bool:
        return self.both(self.as_(who, lambda: self.proto.bonding.rebondFromUnbonded(to, lock_id)), lambda: self.model.rebond_from_unbonded(who, to, lock_id))

    def withdraw_stake(self, who: str, lock_id: int) -> bool:
        return self.both(self.as_(who, lambda: self.proto.bonding.withdrawStake(lock_id)), lambda: self.model.withdraw_stake(who, lock_id))

    def withdraw_fees(self, who: str, amount: int) -> bool:
        return self.both(self.as_(who, lambda: self.proto.bonding.withdrawFees(who, amount)), lambda: self.model.withdraw_fees(who, amount))

    def claim(self, who: str) -> bool:
        return self.both(self.as_(who, lambda: self.proto.bonding.claimEarnings(0)), lambda: self.model.claim_earnings(who))

    def reward(self, who: str) -> bool:
        return self.both(self.as_(who, lambda: self.proto.bonding.reward()), lambda: self.model.reward(who))

    def slash(self, who: str, finder: str, amount: int, finder_fee: int) -> bool:
        p = self.proto
        return self.both(self.as_(p.governor, lambda: p.bonding.slashTranscoder(who, finder, amount, finder_fee)), lambda: self.model.slash(who, finder, amount, finder_fee))

    def fees(self, who: str, face_value: int) -> bool:
        """A winning ticket of `face_value` wei redeemed by `who`."""
        p = self.proto
        rnd = p.round()
        self.nonce += 1
        aux = tk.aux_data(rnd, bytes(p.rounds.blockHashForRound(rnd)))
        ticket = tk.Ticket(who, self.gateway.address, face_value, ALWAYS, self.nonce, tk.rand_hash(self.nonce), aux)
        sig = tk.sign(self.gateway.key, ticket)
        return self.both(self.as_(who, lambda: p.broker.redeemWinningTicket(ticket.as_tuple(), sig, self.nonce)), lambda: self.model.update_transcoder_with_fees(who, face_value))

    def next_round(self, initialize: bool = True) -> None:
        self.proto.next_round(initialize)
        if initialize:
            self.model.initialize_round(self.proto.round())
        else:
            self.model.skip_to(self.proto.round())

    # ------------------------------------------------------------ comparing
    def check(self) -> None:
        p, m = self.proto, self.model
        bm = p.bonding
        assert p.round() == m.round
        assert p.token.totalSupply() == m.total_supply
        assert p.minter.inflation() == m.inflation
        assert p.minter.currentBondingRate() == m.bonding_rate()
        assert p.minter.currentMintableTokens() == m.mintable
        assert p.minter.currentMintedTokens() == m.minted_this_round
        assert bm.getTotalBonded() == m.total_bonded
        assert bm.currentRoundTotalActiveStake() == m.current_round_total_active_stake
        assert bm.nextRoundTotalActiveStake() == m.next_round_total_active_stake
        assert p.pool() == m.pool
        assert p.token.balanceOf(bm.address) == m.held
        for a in self.accounts:
            self.check_account(a)

    def check_account(self, a: str) -> None:
        bm, m = self.proto.bonding, self.model
        rec = m.delegators.get(a)
        assert bm.pendingStake(a, 0) == m.pending_stake(a), a
        assert bm.pendingFees(a, 0) == m.pending_fees(a), a
        assert self.proto.token.balanceOf(a) == m.balances.get(a, 0), a
        if rec is None:
            assert bm.getDelegator(a)[0] == 0
            return
        bonded, fees, delegate, delegated, start, last_claim, next_lock = bm.getDelegator(a)
        assert (bonded, fees, delegate, delegated, start, last_claim, next_lock) == (
            rec.bonded, rec.fees, rec.delegate, rec.delegated_amount, rec.start_round, rec.last_claim_round, rec.next_lock_id
        ), a
        assert bm.transcoderActiveStake(a) == m.active_stake(a), a
        assert bm.isActiveTranscoder(a) == m.is_active(a), a
        for lock_id in range(next_lock):
            lock = m.lock(a, lock_id)
            assert tuple(bm.getDelegatorUnbondingLock(a, lock_id)) == ((lock.amount, lock.withdraw_round) if lock else (0, 0)), (a, lock_id)


# ---------------------------------------------------------------- a scenario, by hand


def test_scenario_agrees_to_the_wei(proto: Protocol, accounts: list[str]) -> None:
    """Six orchestrators for an active set of five, with different terms; delegators
    bond, move, unbond, rebond and withdraw over a dozen rounds; rewards each round by
    most orchestrators, fees by tickets, claims, a slash."""
    tw = Twin(proto, accounts[:14])
    orchs = accounts[:6]
    dels = accounts[6:14]
    terms = [(0, 1_000_000), (100_000, 500_000), (250_000, 750_000), (500_000, 0), (1_000_000, 333_333), (123_456, 987_654)]
    for i, (o, (cut, share)) in enumerate(zip(orchs, terms, strict=True)):
        tw.register(o, (1000 + 337 * i) * E18 + i * 12_345, cut, share)
    for i, d in enumerate(dels):
        assert tw.fund(d, 5000 * E18 + 7 * i)
        assert tw.bond(d, (300 + 111 * i) * E18 + 3 * i, orchs[i % 5])
    tw.check()
    for r in range(12):
        tw.next_round()
        tw.check()
        for i, o in enumerate(orchs):
            if (i + r) % 4 != 3:  # most orchestrators call reward, not all, not always
                tw.reward(o)
        for i, o in enumerate(orchs[:5]):
            if (i * 7 + r) % 3 == 0:
                tw.fees(o, 10**15 * (r + 1) + 17 * i)
        d = dels[r % len(dels)]
        if r % 4 == 1:
            assert tw.unbond(d, tw.model.delegators[d].bonded // 3 + 1) or tw.model.status(d) != 1
        elif r % 4 == 2:
            assert tw.bond(d, E18 + r, orchs[(r + 2) % 6])  # move and add
        elif r % 4 == 3:
            tw.claim(d)
            tw.withdraw_fees(d, tw.model.delegators[d].fees // 2)
        for dd in dels:
            rec = tw.model.delegators[dd]
            for lock_id, lock in list(rec.locks.items()):
                if lock.withdraw_round <= tw.model.round:
                    assert tw.withdraw_stake(dd, lock_id)
                elif r % 2 == 0:
                    assert tw.rebond(dd, lock_id) or tw.model.status(dd) == 2
        if r == 5:
            tw.slash(orchs[3], dels[0], 100_000, 500_000)
        if r == 7:
            tw.transcoder(orchs[1], 200_000, 600_000)  # after its reward this round
        tw.check()
    assert tw.model.total_supply > proto.params["supply"]  # rewards were minted


def test_full_unbond_and_rebond_from_unbonded_agree(proto: Protocol, accounts: list[str]) -> None:
    tw = Twin(proto, accounts[:4])
    o, o2, d = accounts[0], accounts[1], accounts[2]
    tw.register(o, 100 * E18, 50_000, 400_000)
    tw.register(o2, 70 * E18, 0, 0)
    assert tw.fund(d, 100 * E18) and tw.bond(d, 40 * E18, o)
    for _ in range(3):
        tw.next_round()
        assert tw.reward(o) and tw.reward(o2) and tw.fees(o, 3 * 10**15)
    assert tw.unbond(d, tw.model.pending_stake(d))
    assert tw.model.status(d) == 2
    tw.check()
    tw.next_round()
    assert tw.reward(o)
    assert tw.rebond_from_unbonded(d, o2, 0)
    tw.check()
    tw.next_round()
    assert tw.reward(o2) and tw.fees(o2, 10**16)
    tw.next_round(initialize=False)
    assert not tw.reward(o2)  # the round is not initialized
    tw.next_round(initialize=False)
    tw.next_round()
    assert tw.reward(o2)
    tw.check()
    assert tw.unbond(o, tw.model.pending_stake(o))  # the orchestrator leaves: resigns
    tw.check()
    tw.next_round()
    assert not tw.reward(o)
    tw.check()


# ---------------------------------------------------------------- random sequences

N_ORCH = 4
N_DEL = 4

_actor = st.integers(0, N_ORCH + N_DEL - 1)
_orch = st.integers(0, N_ORCH - 1)
_amount = st.one_of(st.integers(0, 3), st.integers(1, 500).map(lambda x: x * E18 // 7))
_move = st.one_of(
    st.tuples(st.just("round"), st.integers(0, 2)),
    st.tuples(st.just("round"), st.just(0)),
    st.tuples(st.just("rewards"), st.integers(0, 2**N_ORCH - 1)),
    st.tuples(st.just("bond"), _actor, _amount, _orch),
    st.tuples(st.just("bond"), _actor, _amount, _orch),
    st.tuples(st.just("unbond"), _actor, st.integers(0, 100)),
    st.tuples(st.just("rebond"), _actor, st.integers(0, 2)),
    st.tuples(st.just("rebond_from_unbonded"), _actor, _orch, st.integers(0, 2)),
    st.tuples(st.just("withdraw"), _actor, st.integers(0, 2)),
    st.tuples(st.just("claim"), _actor),
    st.tuples(st.just("withdraw_fees"), _actor, st.integers(0, 100)),
    st.tuples(st.just("reward"), _orch),
    st.tuples(st.just("rewards"), st.integers(0, 2**N_ORCH - 1)),
    st.tuples(st.just("fees"), _orch, st.integers(1, 10**18)),
    st.tuples(st.just("terms"), _orch, st.integers(0, 1_000_000), st.integers(0, 1_000_000)),
    st.tuples(st.just("slash"), _orch, st.integers(0, 300_000), st.integers(0, 1_000_000)),
)


def _play(tw: Twin, move: tuple[Any, ...]) -> None:
    kind, *args = move
    people = tw.accounts
    m = tw.model
    if kind == "round":
        skipped = args[0]
        for _ in range(skipped):
            tw.next_round(initialize=False)
        tw.next_round()
    elif kind == "bond":
        who, amount, to = people[args[0]], args[1], people[args[2]]
        tw.bond(who, amount, to)
    elif kind == "unbond":
        who = people[args[0]]
        tw.unbond(who, m.pending_stake(who) * args[1] // 100)
    elif kind == "rebond":
        tw.rebond(people[args[0]], args[1])
    elif kind == "rebond_from_unbonded":
        tw.rebond_from_unbonded(people[args[0]], people[args[1]], args[2])
    elif kind == "withdraw":
        tw.withdraw_stake(people[args[0]], args[1])
    elif kind == "claim":
        tw.claim(people[args[0]])
    elif kind == "withdraw_fees":
        who = people[args[0]]
        tw.withdraw_fees(who, m.pending_fees(who) * args[1] // 100)
    elif kind == "reward":
        tw.reward(people[args[0]])
    elif kind == "rewards":
        for i in range(N_ORCH):
            if args[0] >> i & 1:
                tw.reward(people[i])
    elif kind == "fees":
        tw.fees(people[args[0]], args[1])
    elif kind == "terms":
        tw.transcoder(people[args[0]], args[1], args[2])
    elif kind == "slash":
        tw.slash(people[args[0]], people[-1], args[1], args[2])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(moves=st.lists(_move, min_size=10, max_size=40))
def test_random_moves_agree_to_the_wei(_deployed: Protocol, accounts: list[str], moves: list[tuple[Any, ...]]) -> None:
    with boa.env.anchor():
        tw = Twin(_deployed, accounts[: N_ORCH + N_DEL])
        for i, o in enumerate(tw.accounts[:N_ORCH]):
            tw.register(o, (100 + 50 * i) * E18, 100_000 * i, 250_000 * (i + 1))
        for d in tw.accounts[N_ORCH:]:
            assert tw.fund(d, 1000 * E18)
        tw.next_round()
        for move in moves:
            _play(tw, move)
            if move[0] == "round":
                tw.check()
        tw.check()


@pytest.mark.parametrize("initial_bonded_share", [0, 7, 9])
def test_inflation_and_mintable_agree_across_the_target(proto: Protocol, accounts: list[str], initial_bonded_share: int) -> None:
    """Bonding rate below, then above the target: the inflation steps the same way."""
    tw = Twin(proto, accounts[:3])
    supply = tw.model.total_supply
    o, d = accounts[0], accounts[1]
    tw.register(o, supply // 20, 100_000, 0)
    if initial_bonded_share:
        assert tw.fund(d, supply * initial_bonded_share // 10) and tw.bond(d, supply * initial_bonded_share // 10, o)
    for _ in range(4):
        tw.next_round()
        assert tw.reward(o)
        tw.check()
    assert ZERO not in tw.model.pool


# ---------------------------------------------------------------- known differences from Livepeer


def _fees_after_a_missed_reward(tw: Twin, fee_before_reward: bool) -> int:
    """An orchestrator that gives all fees to delegators misses reward() for a round,
    calls it in the next and is paid a ticket there; returns the fees all can claim."""
    o, d = tw.accounts[0], tw.accounts[1]
    tw.register(o, 100 * E18, 0, 1_000_000)
    assert tw.fund(d, 100 * E18) and tw.bond(d, 100 * E18, o)
    for _ in range(3):
        tw.next_round()
        assert tw.reward(o)
    tw.next_round()  # no reward() this round
    tw.next_round()
    if fee_before_reward:
        assert tw.fees(o, 10**18) and tw.reward(o)
    else:
        assert tw.reward(o) and tw.fees(o, 10**18)
    tw.check()  # contracts and model agree either way
    return tw.model.pending_fees(o) + tw.model.pending_fees(d)


def test_fees_before_reward_after_a_missed_round_are_all_claimable(proto: Protocol, accounts: list[str]) -> None:
    claimable = _fees_after_a_missed_reward(Twin(proto, accounts[:2]), fee_before_reward=True)
    assert 10**18 - 10 < claimable <= 10**18


def test_fees_after_reward_after_a_missed_round_are_all_claimable(proto: Protocol, accounts: list[str]) -> None:
    claimable = _fees_after_a_missed_reward(Twin(proto, accounts[:2]), fee_before_reward=False)
    assert 10**18 - 10 < claimable <= 10**18


def test_claim_before_reward_forfeits_the_rounds_reward_as_in_livepeer(proto: Protocol, accounts: list[str]) -> None:
    """Livepeer's rule: a claim (or any call that claims: bond, unbond, ...) in round r
    counts round r as claimed; a reward() later in round r is not the claimer's."""
    tw = Twin(proto, accounts[:3])
    o, d, e = accounts[0], accounts[1], accounts[2]
    tw.register(o, 100 * E18, 0, 0)
    for x in (d, e):
        assert tw.fund(x, 100 * E18) and tw.bond(x, 100 * E18, o)
    tw.next_round()
    assert tw.claim(d) and tw.reward(o)
    tw.next_round()
    tw.check()
    assert tw.model.pending_stake(d) == 100 * E18 < tw.model.pending_stake(e)


# ---------------------------------------------------------------- a simulated population, on both


class TwinLedger:
    """What `Simulation` plays on, with every move played on the contracts too."""

    def __init__(self, tw: Twin) -> None:
        self.tw = tw
        self.started = False
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tw.model, name)  # reads: the model (checked against the chain)

    def initialize_round(self, rnd: int | None = None) -> None:
        if self.started:
            self.tw.next_round()
        self.started = True  # the deployment's round is initialized already

    def bond(self, d: str, amount: int, to: str) -> None:
        assert self.tw.bond(d, amount, to)

    def transcoder(self, t: str, reward_cut: int, fee_share: int) -> None:
        assert self.tw.transcoder(t, reward_cut, fee_share)

    def reward(self, t: str) -> None:
        assert self.tw.reward(t)

    def update_transcoder_with_fees(self, t: str, fees: int) -> None:
        assert self.tw.fees(t, fees)

    def unbond(self, d: str, amount: int) -> int:
        lock_id = self.tw.model.delegators[d].next_lock_id
        assert self.tw.unbond(d, amount)
        self.calls["unbond"] += 1
        return lock_id

    def withdraw_stake(self, d: str, lock_id: int) -> None:
        assert self.tw.withdraw_stake(d, lock_id)
        self.calls["withdraw_stake"] += 1


def test_simulated_population_agrees_to_the_wei(proto: Protocol, accounts: list[str]) -> None:
    """The simulator's orchestrators and delegators (reactive, accumulating, leaving),
    rewards by most orchestrators, random fees: 25 rounds on both, compared each round."""
    tw = Twin(proto, accounts[:14])
    params = Params(inflation=INFLATION, inflation_change=INFLATION_CHANGE, target_bonding_rate=TARGET, unbonding_period=UNBONDING_PERIOD, num_active=NUM_ACTIVE)
    config = SimConfig(rounds=25, seed=11, orchestrators=6, delegators=8, supply=1_000_000 * E18, params=params, activity=0.3, mean_fees=10**16, accumulators=0.25, leavers=0.25)

    twin_ledger = TwinLedger(tw)

    def ledger(_params: Params, balances: dict[str, int]) -> Any:
        for who, amount in balances.items():
            if who in tw.accounts:
                assert tw.fund(who, amount)
        return twin_ledger

    sim = Simulation(config, economy=ledger, names=accounts[:14])
    before = tw.moves
    sim.run(lambda _row: tw.check())
    assert tw.moves - before > 100
    assert twin_ledger.calls["unbond"] > 0 and twin_ledger.calls["withdraw_stake"] > 0
    assert len(tw.model.pool) == NUM_ACTIVE and sum(s.rewards for s in sim.stats) > 0 and sum(s.fees for s in sim.stats) > 0
