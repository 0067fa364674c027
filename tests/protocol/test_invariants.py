"""Property test: after any sequence of bond, unbond, rebond, withdraw, reward, claim,
ticket redemption, fee withdrawal, slashing and new rounds, the books balance.

- total bonded == the sum of the orchestrators' total stakes (and of the pool's, for
  the next round's active stake);
- the BondingManager holds exactly the tokens of every bonded amount and unbonding lock;
- no account can claim more stake than is bonded, nor more fees than are held;
- the TicketBroker holds exactly every deposit, reserve and unwithdrawn fee;
- no round mints more than its mintable tokens;
- the pool is sorted by stake and never larger than numActiveTranscoders.
"""

from __future__ import annotations

from typing import Any

import boa
from boa.contracts.base_evm_contract import BoaError
from eth_account import Account
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from . import tickets as tk
from .conftest import NUM_ACTIVE, UNBONDING_PERIOD, Protocol

E18 = 10**18
N_ORCH = 3
N_DEL = 4

amounts = st.integers(min_value=1, max_value=5000 * E18) | st.integers(min_value=1, max_value=1000)


class Books(RuleBasedStateMachine):
    def __init__(self, proto: Protocol) -> None:
        super().__init__()
        self.p = proto
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.orchs = [boa.env.generate_address(f"inv-o{i}") for i in range(N_ORCH)]
        self.dels = [boa.env.generate_address(f"inv-d{i}") for i in range(N_DEL)]
        self.gateway = Account.create("inv-gateway")
        self.nonce = 0

    def teardown(self) -> None:
        self._anchor.__exit__(None, None, None)

    @property
    def everyone(self) -> list[str]:
        return self.orchs + self.dels

    def _try(self, who: str, fn: Any, *args: Any, **kwargs: Any) -> bool:
        try:
            with boa.env.prank(who):
                fn(*args, **kwargs)
            return True
        except BoaError as e:
            # a refused move changes nothing (the books must still balance) and says why
            assert "user revert with reason" in str(e), str(e)[-2000:]
            return False

    @initialize()
    def setup(self) -> None:
        for i, o in enumerate(self.orchs):
            self.p.register(o, (i + 1) * 1000 * E18, reward_cut=100_000 * (i + 1), fee_share=300_000 * i)
        for d in self.dels:
            self.p.fund(d, 20_000 * E18)
        boa.env.set_balance(self.gateway.address, 10**24)
        with boa.env.prank(self.gateway.address):
            self.p.broker.fundDepositAndReserve(10**18, 10**18, value=2 * 10**18)
        self.p.next_round()

    @rule(d=st.integers(0, N_DEL - 1), o=st.integers(0, N_ORCH - 1), amount=amounts)
    def bond(self, d: int, o: int, amount: int) -> None:
        self._try(self.dels[d], self.p.bonding.bond, amount, self.orchs[o])

    @rule(d=st.integers(0, N_DEL - 1), o=st.integers(0, N_ORCH - 1), amount=amounts, prev=st.integers(-1, N_ORCH + N_DEL - 1), nxt=st.integers(-1, N_ORCH + N_DEL - 1))
    def bond_with_any_hints(self, d: int, o: int, amount: int, prev: int, nxt: int) -> None:
        """Hints may be right, wrong or nonsense: the pool stays sorted whatever they are."""
        h = [self._hint(prev), self._hint(nxt)]
        self._try(self.dels[d], self.p.bonding.bondWithHint, amount, self.orchs[o], h[0], h[1], h[1], h[0])

    def _hint(self, i: int) -> str:
        return "0x" + "00" * 20 if i < 0 else self.everyone[i]

    @rule(o=st.integers(0, N_ORCH - 1), amount=amounts)
    def self_bond(self, o: int, amount: int) -> None:
        self.p.fund(self.orchs[o], amount)
        self._try(self.orchs[o], self.p.bonding.bond, amount, self.orchs[o])

    @rule(i=st.integers(0, N_ORCH + N_DEL - 1), part=st.integers(1, 4))
    def unbond(self, i: int, part: int) -> None:
        who = self.everyone[i]
        bonded = self.p.bonding.pendingStake(who, 0)
        self._try(who, self.p.bonding.unbond, max(1, bonded // part))

    @rule(i=st.integers(0, N_ORCH + N_DEL - 1), lock=st.integers(0, 3), o=st.integers(0, N_ORCH - 1))
    def rebond(self, i: int, lock: int, o: int) -> None:
        who = self.everyone[i]
        if not self._try(who, self.p.bonding.rebond, lock):
            self._try(who, self.p.bonding.rebondFromUnbonded, self.orchs[o], lock)

    @rule(i=st.integers(0, N_ORCH + N_DEL - 1), lock=st.integers(0, 3))
    def withdraw_stake(self, i: int, lock: int) -> None:
        self._try(self.everyone[i], self.p.bonding.withdrawStake, lock)

    @rule(i=st.integers(0, N_ORCH + N_DEL - 1), part=st.integers(1, 4), back=st.booleans())
    def unbond_then_rebond_or_wait(self, i: int, part: int, back: bool) -> None:
        """Unbond (a round later if still pending), then rebond at once or withdraw when due."""
        who = self.everyone[i]
        if self.p.bonding.delegatorStatus(who) == 0:
            self.p.next_round()
        if not self._try(who, self.p.bonding.unbond, max(1, self.p.bonding.pendingStake(who, 0) // part)):
            return
        lock = self.p.delegator(who)[6] - 1
        if back:
            if not self._try(who, self.p.bonding.rebond, lock):
                self._try(who, self.p.bonding.rebondFromUnbonded, self.orchs[i % N_ORCH], lock)
        else:
            for _ in range(UNBONDING_PERIOD):
                self.p.next_round()
            assert self._try(who, self.p.bonding.withdrawStake, lock)

    @rule(o=st.integers(0, N_ORCH - 1))
    def reward(self, o: int) -> None:
        self._try(self.orchs[o], self.p.bonding.reward)

    @rule(i=st.integers(0, N_ORCH + N_DEL - 1))
    def claim(self, i: int) -> None:
        self._try(self.everyone[i], self.p.bonding.claimEarnings, self.p.round())

    @rule(i=st.integers(0, N_ORCH + N_DEL - 1), part=st.integers(1, 3))
    def withdraw_fees(self, i: int, part: int) -> None:
        who = self.everyone[i]
        self._try(who, self.p.bonding.withdrawFees, who, self.p.bonding.pendingFees(who, 0) // part)

    @rule(o=st.integers(0, N_ORCH - 1), face=st.integers(1, 3 * 10**18))
    def redeem(self, o: int, face: int) -> None:
        self.nonce += 1
        rnd = self.p.round()
        aux = tk.aux_data(rnd, bytes(self.p.rounds.blockHashForRound(rnd)))
        t = tk.Ticket(self.orchs[o], self.gateway.address, face, 2**256 - 1, self.nonce, tk.rand_hash(self.nonce), aux)
        self._try(self.orchs[o], self.p.broker.redeemWinningTicket, t.as_tuple(), tk.sign(self.gateway.key, t), self.nonce)

    @rule(o=st.integers(0, N_ORCH - 1), amount=st.integers(0, 1_000_000), fee=st.integers(0, 1_000_000), dice=st.integers(0, 4))
    def slash(self, o: int, amount: int, fee: int, dice: int) -> None:
        if dice:  # rare: a slash ends most of an orchestrator's story
            return
        self._try(self.p.governor, self.p.bonding.slashTranscoder, self.orchs[o], self.dels[0], amount, fee)

    @rule()
    def next_round(self) -> None:
        self.p.next_round()

    @rule(o=st.integers(0, N_ORCH - 1))
    def next_round_after_reward(self, o: int) -> None:
        self._try(self.orchs[o], self.p.bonding.reward)
        self.p.next_round()

    # ------------------------------------------------------------ the books
    @invariant()
    def stake_is_accounted(self) -> None:
        b = self.p.bonding
        total = b.getTotalBonded()
        assert total == sum(b.transcoderTotalStake(o) for o in self.orchs)
        locked = 0
        for who in self.everyone:
            for lock in range(self.p.delegator(who)[6]):
                locked += b.getDelegatorUnbondingLock(who, lock)[0]
        assert self.p.token.balanceOf(b.address) == total + locked
        assert sum(b.pendingStake(who, 0) for who in self.everyone) <= total

    @invariant()
    def eth_is_accounted(self) -> None:
        tb = self.p.broker
        deposit, _, reserve, _ = tb.getSenderInfo(self.gateway.address)
        assert boa.env.get_balance(tb.address) == deposit + reserve + tb.feesHeld()
        assert sum(self.p.bonding.pendingFees(who, 0) for who in self.everyone) <= tb.feesHeld()

    @invariant()
    def minting_is_bounded(self) -> None:
        assert self.p.minter.currentMintedTokens() <= self.p.minter.currentMintableTokens()

    @invariant()
    def pool_is_sorted_and_bounded(self) -> None:
        pool = self.p.pool()
        stakes = [self.p.bonding.transcoderTotalStake(o) for o in pool]
        assert stakes == sorted(stakes, reverse=True)
        assert len(pool) <= NUM_ACTIVE
        assert self.p.bonding.nextRoundTotalActiveStake() == sum(stakes)


def test_books_balance(_deployed: Protocol) -> None:
    run_state_machine_as_test(
        lambda: Books(_deployed),
        settings=settings(max_examples=20, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)),
    )
