"""The protocol's economics in pure Python: the same rules as the contracts, no chain.

`Economy` holds what the Token, RoundsManager, Minter and BondingManager hold that
matters to the money (balances, rounds, inflation, stakes, the active set, the
cumulative reward and fee factors of LIP-36, unbonding locks) and changes it exactly as
the contracts do: the same integer operations in the same order, rounded down in the
same places, so that a scenario played on both gives the same numbers to the last wei.
The contract tests in `tests/protocol/test_model*.py` hold it to that.

Scales are Livepeer's: reward cut, fee share and slash amounts over 1e6; inflation, its
change and the target bonding rate over 1e9; cumulative factors over 1e27.

What the model leaves out: blocks (a round is a number; the lock window at the end of a
round is not modelled, every call is taken as made in the unlocked part), ETH (fees are
accounting only: the TicketBroker's deposits and reserves are not modelled), pool hints
(every call is the hint-less one), events.

Errors: a call the contracts would refuse raises `Revert` with the contract's reason
and leaves the model unchanged (checks come before any change, in the contract's order).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERC_DIVISOR = 10**6
MINTER_DIVISOR = 10**9
PRECISE_DIVISOR = 10**27
#: the deactivation round of an orchestrator in the pool ("never")
MAX_ROUND = 2**48 - 1
ZERO = "0x" + "00" * 20

PENDING, BONDED, UNBONDED = 0, 1, 2


class Revert(Exception):
    """A call the contracts refuse; `reason` is the contract's revert string."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check(ok: bool, reason: str) -> None:
    if not ok:
        raise Revert(reason)


def perc_of(amount: int, perc: int) -> int:
    """`amount * perc / 1e6` (MathUtils.percOf)."""
    return amount * perc // PERC_DIVISOR


def precise_perc_of(amount: int, num: int, den: int) -> int:
    """`amount * (num * 1e27 / den) / 1e27` (PreciseMathUtils.percOf)."""
    _check(den != 0, "division by zero")
    return amount * (num * PRECISE_DIVISOR // den) // PRECISE_DIVISOR


def minter_perc_of(amount: int, num: int, den: int) -> int:
    """`amount * (num * 1e9 / den) / 1e9`: the Minter's share of the mintable tokens."""
    return amount * (num * MINTER_DIVISOR // den) // MINTER_DIVISOR


@dataclass(frozen=True)
class Params:
    """The deployment's economic parameters (the contracts' constructor arguments)."""

    inflation: int = 137_000  # starting inflation, over 1e9 per round
    inflation_change: int = 500  # over 1e9 per round
    target_bonding_rate: int = 500_000_000  # over 1e9
    unbonding_period: int = 7  # rounds
    num_active: int = 100  # orchestrators in the active set

    def __post_init__(self) -> None:
        for name in ("inflation", "inflation_change", "target_bonding_rate"):
            if not 0 <= getattr(self, name) <= MINTER_DIVISOR:
                raise ValueError(f"{name} must be within 0..1e9, got {getattr(self, name)}")
        if self.unbonding_period <= 0:
            raise ValueError("unbonding_period must be positive")
        if not 0 < self.num_active <= 1000:
            raise ValueError("num_active must be within 1..1000")


@dataclass(frozen=True)
class UnbondingLock:
    amount: int
    withdraw_round: int


@dataclass
class Delegator:
    """BondingManager.Delegator (an orchestrator is also a delegator, to itself)."""

    bonded: int = 0
    start_round: int = 0
    last_claim_round: int = 0
    fees: int = 0
    delegate: str = ZERO
    delegated_amount: int = 0  # stake delegated to this address (its total stake if an orchestrator)
    next_lock_id: int = 0
    locks: dict[int, UnbondingLock] = field(default_factory=dict)


@dataclass
class Orchestrator:
    """BondingManager.Transcoder: terms, rounds and the earnings it keeps for itself."""

    last_reward_round: int = 0
    last_fee_round: int = 0
    activation_round: int = 0
    deactivation_round: int = 0
    reward_cut: int = 0
    fee_share: int = 0
    cumulative_rewards: int = 0
    active_cumulative_rewards: int = 0
    cumulative_fees: int = 0
    stake_before: int = 0  # its stake in rounds before stake_update_round
    stake_update_round: int = 0


@dataclass
class EarningsPool:
    cumulative_reward_factor: int = 0
    cumulative_fee_factor: int = 0


class Economy:
    """Token supply and balances, rounds, the Minter and the BondingManager, as rules."""

    def __init__(self, params: Params, balances: dict[str, int], round: int = 0) -> None:
        self.params = params
        self.balances: dict[str, int] = {k: v for k, v in balances.items() if v}
        self.total_supply = sum(balances.values())
        self.held = 0  # tokens the BondingManager holds: stake, locks, unclaimed rewards
        # RoundsManager
        self.round = round
        self.last_initialized_round = 0
        # Minter
        self.inflation = params.inflation
        self.mintable = 0
        self.minted_this_round = 0
        # BondingManager
        self.unbonding_period = params.unbonding_period
        self.num_active = params.num_active
        self.delegators: dict[str, Delegator] = {}
        self.orchestrators: dict[str, Orchestrator] = {}
        self.pools: dict[tuple[str, int], EarningsPool] = {}
        self.total_bonded = 0
        self.next_round_total_active_stake = 0
        self.current_round_total_active_stake = 0
        self.current_round_active_set_size = 0
        self.pool: list[str] = []  # sorted by total stake, descending

    # ------------------------------------------------------------ records
    def delegator(self, d: str) -> Delegator:
        rec = self.delegators.get(d)
        if rec is None:
            rec = self.delegators[d] = Delegator()
        return rec

    def orchestrator(self, t: str) -> Orchestrator:
        rec = self.orchestrators.get(t)
        if rec is None:
            rec = self.orchestrators[t] = Orchestrator()
        return rec

    def _ep(self, t: str, rnd: int) -> EarningsPool:
        return self.pools.get((t, rnd)) or EarningsPool()

    def _ep_mut(self, t: str, rnd: int) -> EarningsPool:
        ep = self.pools.get((t, rnd))
        if ep is None:
            ep = self.pools[(t, rnd)] = EarningsPool()
        return ep

    # ------------------------------------------------------------ rounds and the Minter
    @property
    def initialized(self) -> bool:
        return self.last_initialized_round == self.round

    def bonding_rate(self) -> int:
        """Total bonded / total supply, over 1e9 (Minter.currentBondingRate)."""
        if self.total_supply == 0:
            return 0
        return self.total_bonded * MINTER_DIVISOR // self.total_supply

    def initialize_round(self, rnd: int | None = None) -> None:
        """Move to round `rnd` and initialize it: fix the active set's total stake, step
        the inflation, fix the round's mintable tokens. By default `rnd` is the current
        round if it is not initialized yet (rounds were skipped), else the next one."""
        if rnd is None:
            rnd = self.round if not self.initialized else self.round + 1
        _check(rnd >= self.round, "rounds only move forward")
        _check(self.last_initialized_round < rnd, "round already initialized")
        self.round = rnd
        self.last_initialized_round = rnd
        self.current_round_total_active_stake = self.next_round_total_active_stake
        self.current_round_active_set_size = len(self.pool)
        rate = self.bonding_rate()
        current, change, target = self.inflation, self.params.inflation_change, self.params.target_bonding_rate
        if rate < target:
            current += change
        elif rate > target:
            current = 0 if change > current else current - change
        self.inflation = current
        self.mintable = self.total_supply * current // MINTER_DIVISOR
        self.minted_this_round = 0

    def skip_to(self, rnd: int) -> None:
        """Let rounds pass without initializing them (the chain's blocks go on)."""
        _check(rnd >= self.round, "rounds only move forward")
        self.round = rnd

    def _require_initialized(self) -> None:
        _check(self.initialized, "current round is not initialized")

    def _create_reward(self, num: int, den: int) -> int:
        _check(den > 0, "no active stake this round")
        amount = minter_perc_of(self.mintable, num, den)
        _check(self.minted_this_round + amount <= self.mintable, "minted tokens cannot exceed mintable tokens")
        self.minted_this_round += amount
        self.total_supply += amount
        self.held += amount
        return amount

    # ------------------------------------------------------------ small readers
    def is_registered(self, t: str) -> bool:
        rec = self.delegators.get(t)
        return rec is not None and rec.bonded > 0 and rec.delegate == t

    def is_active(self, t: str, rnd: int | None = None) -> bool:
        rnd = self.round if rnd is None else rnd
        o = self.orchestrators.get(t)
        return o is not None and o.activation_round <= rnd < o.deactivation_round

    def in_pool(self, t: str) -> bool:
        o = self.orchestrators.get(t)
        return o is not None and o.deactivation_round == MAX_ROUND

    def status(self, d: str, rnd: int | None = None) -> int:
        rnd = self.round if rnd is None else rnd
        rec = self.delegators.get(d) or Delegator()
        if rec.bonded == 0:
            return UNBONDED
        return PENDING if rec.start_round > rnd else BONDED

    def total_stake(self, t: str) -> int:
        """transcoderTotalStake: the stake delegated to `t`, counting from next round."""
        rec = self.delegators.get(t)
        return rec.delegated_amount if rec else 0

    def active_stake(self, t: str, rnd: int | None = None) -> int:
        """The stake that counts for `t` in round `rnd` (the current one by default)."""
        rnd = self.round if rnd is None else rnd
        o = self.orchestrators.get(t) or Orchestrator()
        if rnd >= o.stake_update_round:
            return self.total_stake(t)
        return o.stake_before

    def pending_stake(self, d: str) -> int:
        return self._pending(d, self.round)[0]

    def pending_fees(self, d: str) -> int:
        return self._pending(d, self.round)[1]

    # ------------------------------------------------------------ the sorted pool
    def _insert_sorted(self, t: str, key: int) -> None:
        # after the last orchestrator whose stake is >= key (the hint-less walk)
        i = 0
        while i < len(self.pool) and self.delegators[self.pool[i]].delegated_amount >= key:
            i += 1
        self.pool.insert(i, t)

    def _reposition(self, t: str, key: int, up: bool) -> None:
        i = self.pool.index(t)
        if up:
            if i == 0 or self.delegators[self.pool[i - 1]].delegated_amount >= key:
                return
        elif i == len(self.pool) - 1 or key >= self.delegators[self.pool[i + 1]].delegated_amount:
            return
        del self.pool[i]
        self._insert_sorted(t, key)

    # ------------------------------------------------------------ stake bookkeeping
    def _set_delegated(self, t: str, new: int, rnd: int) -> None:
        o = self.orchestrator(t)
        rec = self.delegator(t)
        if o.stake_update_round <= rnd:
            o.stake_before = rec.delegated_amount
            o.stake_update_round = rnd + 1
        rec.delegated_amount = new

    def _try_to_join(self, t: str, stake: int, rnd: int) -> None:
        next_round = rnd + 1
        if len(self.pool) >= self.num_active:
            last = self.pool[-1]
            last_stake = self.delegators[last].delegated_amount
            if stake <= last_stake:
                return
            self.pool.pop()
            self.orchestrator(last).deactivation_round = next_round
            self.next_round_total_active_stake -= last_stake
        self._insert_sorted(t, stake)
        self.next_round_total_active_stake += stake
        o = self.orchestrator(t)
        # an orchestrator evicted earlier this round is still active in it
        if not (o.activation_round <= rnd and o.deactivation_round == next_round):
            o.activation_round = next_round
        o.deactivation_round = MAX_ROUND

    def _increase_total_stake(self, t: str, amount: int, rnd: int) -> None:
        new_stake = self.total_stake(t) + amount
        self._set_delegated(t, new_stake, rnd)
        self.total_bonded += amount
        if self.in_pool(t):
            self._reposition(t, new_stake, True)
            self.next_round_total_active_stake += amount
        elif self.is_registered(t):
            self._try_to_join(t, new_stake, rnd)

    def _decrease_total_stake(self, t: str, amount: int, rnd: int) -> None:
        new_stake = self.total_stake(t) - amount
        self._set_delegated(t, new_stake, rnd)
        self.total_bonded -= amount
        if self.in_pool(t):
            self._reposition(t, new_stake, False)
            self.next_round_total_active_stake -= amount

    def _resign(self, t: str, rnd: int) -> None:
        self.pool.remove(t)
        self.next_round_total_active_stake -= self.total_stake(t)
        self.orchestrator(t).deactivation_round = rnd + 1

    # ------------------------------------------------------------ earnings (LIP-36)
    def _latest_factors(self, t: str, rnd: int) -> tuple[int, int]:
        o = self.orchestrators.get(t) or Orchestrator()
        ep = self._ep(t, rnd)
        crf = ep.cumulative_reward_factor
        if crf == 0 and o.last_reward_round < rnd:
            crf = self._ep(t, o.last_reward_round).cumulative_reward_factor
        cff = ep.cumulative_fee_factor
        if cff == 0 and o.last_fee_round < rnd:
            cff = self._ep(t, o.last_fee_round).cumulative_fee_factor
        return crf, cff

    def _pending(self, d: str, rnd: int) -> tuple[int, int]:
        rec = self.delegators.get(d) or Delegator()
        stake, fees, t = rec.bonded, rec.fees, rec.delegate
        if t == ZERO:
            return stake, fees
        if rec.last_claim_round < rnd:
            start = self._ep(t, rec.last_claim_round)
            start_crf = start.cumulative_reward_factor or PRECISE_DIVISOR
            end_crf, end_cff = self._latest_factors(t, rnd)
            end_crf = end_crf or PRECISE_DIVISOR
            fees += precise_perc_of(stake, end_cff - start.cumulative_fee_factor, start_crf)
            stake = precise_perc_of(stake, end_crf, start_crf)
        if t == d:
            o = self.orchestrators.get(t) or Orchestrator()
            stake += o.cumulative_rewards
            fees += o.cumulative_fees
        return stake, fees

    def _claimed(self, d: str, rnd: int) -> tuple[int, int]:
        """(bonded, fees) of `d` as they will be after `_claim(d, rnd)`, without claiming."""
        rec = self.delegators.get(d) or Delegator()
        if rnd <= rec.last_claim_round:
            return rec.bonded, rec.fees
        return self._pending(d, rnd)

    def _pin_factors(self, t: str, rnd: int) -> None:
        o = self.orchestrators.get(t) or Orchestrator()
        ep = self._ep(t, rnd)
        crf = cff = 0
        if ep.cumulative_reward_factor == 0 and o.last_reward_round < rnd:
            crf = self._ep(t, o.last_reward_round).cumulative_reward_factor
        if ep.cumulative_fee_factor == 0 and o.last_fee_round < rnd:
            cff = self._ep(t, o.last_fee_round).cumulative_fee_factor
        if crf:
            self._ep_mut(t, rnd).cumulative_reward_factor = crf
        if cff:
            self._ep_mut(t, rnd).cumulative_fee_factor = cff

    def _claim(self, d: str, rnd: int) -> None:
        rec = self.delegator(d)
        if rnd <= rec.last_claim_round:
            return
        stake, fees = self._pending(d, rnd)
        t = rec.delegate
        if t != ZERO:
            self._pin_factors(t, rnd)
            if t == d:
                o = self.orchestrator(t)
                o.cumulative_rewards = 0
                o.cumulative_fees = 0
        rec.bonded = stake
        rec.last_claim_round = rnd
        rec.fees = fees

    # ------------------------------------------------------------ orchestrators
    def transcoder(self, t: str, reward_cut: int, fee_share: int) -> None:
        """Register `t` (already self-bonded) or change its terms."""
        self._require_initialized()
        _check(reward_cut <= PERC_DIVISOR, "invalid rewardCut percentage")
        _check(fee_share <= PERC_DIVISOR, "invalid feeShare percentage")
        _check(self.is_registered(t), "transcoder must be registered")
        cur = self.round
        o = self.orchestrator(t)
        _check(
            not (o.activation_round <= cur < o.deactivation_round) or o.last_reward_round == cur,
            "caller can't be active or must have already called reward for the current round",
        )
        o.reward_cut, o.fee_share = reward_cut, fee_share
        if not self.in_pool(t):
            self._try_to_join(t, self.total_stake(t), cur)

    def reward(self, t: str) -> int:
        """`t` takes its share of the round's mintable tokens; returns the tokens minted."""
        self._require_initialized()
        cur = self.round
        o = self.orchestrators.get(t) or Orchestrator()
        _check(o.activation_round <= cur < o.deactivation_round, "caller must be an active transcoder")
        _check(o.last_reward_round != cur, "caller has already called reward for the current round")
        stake = self.active_stake(t, cur)
        _check(stake > 0, "division by zero")
        active_cr = o.cumulative_rewards
        minted = self._create_reward(stake, self.current_round_total_active_stake)
        commission = perc_of(minted, o.reward_cut)
        delegators_rewards = minted - commission
        o.cumulative_rewards = active_cr + precise_perc_of(delegators_rewards, active_cr, stake) + commission
        o.active_cumulative_rewards = active_cr
        prev_crf = self._ep(t, o.last_reward_round).cumulative_reward_factor
        if prev_crf and o.last_reward_round + 1 < cur:
            # a missed round: fees later in this round build on round cur - 1's factor
            self._ep_mut(t, cur - 1).cumulative_reward_factor = prev_crf
        prev_crf = prev_crf or PRECISE_DIVISOR
        self._ep_mut(t, cur).cumulative_reward_factor = prev_crf + precise_perc_of(prev_crf, delegators_rewards, stake)
        o.last_reward_round = cur
        self._increase_total_stake(t, minted, cur)
        return minted

    def update_transcoder_with_fees(self, t: str, fees: int) -> None:
        """Credit `fees` to `t`'s fee pool for the current round (what a redeemed
        winning ticket does; the TicketBroker checks that `t` is active)."""
        self._require_initialized()
        cur = self.round
        _check(self.is_active(t, cur), "ticket recipient is not an active orchestrator")
        o = self.orchestrator(t)
        active_cr = o.active_cumulative_rewards
        if cur > o.last_reward_round:
            active_cr = o.cumulative_rewards
        stake = self.active_stake(t, cur)
        _check(stake > 0, "transcoder has no stake")
        delegators_fees = perc_of(fees, o.fee_share)
        commission = fees - delegators_fees
        o.cumulative_fees += precise_perc_of(delegators_fees, active_cr, stake) + commission
        prev_crf = self._ep(t, cur - 1).cumulative_reward_factor
        if prev_crf == 0 and o.last_reward_round < cur - 1:
            prev_crf = self._ep(t, o.last_reward_round).cumulative_reward_factor
        prev_crf = prev_crf or PRECISE_DIVISOR
        cff = self._ep(t, cur).cumulative_fee_factor
        if cff == 0:
            cff = self._ep(t, cur - 1).cumulative_fee_factor
            if cff == 0 and o.last_fee_round < cur - 1:
                cff = self._ep(t, o.last_fee_round).cumulative_fee_factor
        self._ep_mut(t, cur).cumulative_fee_factor = cff + precise_perc_of(prev_crf, delegators_fees, stake)
        o.last_fee_round = cur

    def slash(self, t: str, finder: str, slash_amount: int, finder_fee: int) -> int:
        """slashTranscoder: burn `slash_amount` (over 1e6) of `t`'s bonded stake, pay
        `finder` `finder_fee` (over 1e6) of it; returns the penalty."""
        self._require_initialized()
        _check(slash_amount <= PERC_DIVISOR, "invalid slashAmount percentage")
        _check(finder_fee <= PERC_DIVISOR, "invalid finderFee percentage")
        cur = self.round
        self._claim(t, cur)
        rec = self.delegator(t)
        if rec.bonded == 0:
            return 0
        penalty = perc_of(rec.bonded, slash_amount)
        if self.in_pool(t):
            self._resign(t, cur)
        rec.bonded -= penalty
        self._decrease_total_stake(rec.delegate, penalty, cur)
        finder_amount = perc_of(penalty, finder_fee) if finder != ZERO else 0
        self.held -= penalty
        if finder_amount:
            self.balances[finder] = self.balances.get(finder, 0) + finder_amount
        self.total_supply -= penalty - finder_amount
        return penalty

    # ------------------------------------------------------------ delegators
    def bond(self, d: str, amount: int, to: str) -> None:
        """Bond `amount` more tokens of `d` to `to` (moving its stake there if it was
        bonded elsewhere); `d == to` self-bonds an orchestrator."""
        self._require_initialized()
        _check(to != ZERO, "delegate is the zero address")
        cur = self.round
        bonded, _ = self._claimed(d, cur)
        current = (self.delegators.get(d) or Delegator()).delegate
        moving = bonded != 0 and current != to
        _check(not moving or current != d, "registered transcoders can't delegate towards other addresses")
        _check(amount + (bonded if moving else 0) > 0, "delegation amount must be greater than 0")
        _check(self.balances.get(d, 0) >= amount, "insufficient balance")
        self._claim(d, cur)
        rec = self.delegator(d)
        start = rec.start_round
        total = amount
        if bonded == 0:
            start = cur + 1
        elif moving:
            start = cur + 1
            total += bonded
            self._decrease_total_stake(current, bonded, cur)
        self._pin_factors(to, cur)
        rec.delegate = to
        rec.bonded, rec.start_round, rec.last_claim_round = bonded + amount, start, cur
        self._increase_total_stake(to, total, cur)
        self.balances[d] = self.balances.get(d, 0) - amount
        self.held += amount

    def unbond(self, d: str, amount: int) -> int:
        """Move `amount` of `d`'s stake into a new unbonding lock; returns its id."""
        self._require_initialized()
        cur = self.round
        bonded, _ = self._claimed(d, cur)
        _check(bonded != 0 and (self.delegators.get(d) or Delegator()).start_round <= cur, "caller must be bonded")
        _check(amount > 0, "unbond amount must be greater than 0")
        _check(amount <= bonded, "amount is greater than bonded amount")
        self._claim(d, cur)
        rec = self.delegator(d)
        delegate = rec.delegate
        lock_id = rec.next_lock_id
        rec.locks[lock_id] = UnbondingLock(amount, cur + self.unbonding_period)
        rec.next_lock_id = lock_id + 1
        rec.bonded -= amount
        if rec.bonded == 0:
            rec.delegate = ZERO
            rec.start_round = 0
            if self.in_pool(d):
                self._resign(d, cur)
        self._decrease_total_stake(delegate, amount, cur)
        return lock_id

    def _process_rebond(self, d: str, lock_id: int, cur: int) -> None:
        rec = self.delegator(d)
        lock = rec.locks.pop(lock_id)
        rec.bonded += lock.amount
        self._increase_total_stake(rec.delegate, lock.amount, cur)

    def _lock_amount(self, d: str, lock_id: int) -> int:
        rec = self.delegators.get(d)
        lock = rec.locks.get(lock_id) if rec else None
        return lock.amount if lock else 0

    def rebond(self, d: str, lock_id: int) -> None:
        """Put an unbonding lock back into `d`'s stake, with its current delegate."""
        self._require_initialized()
        cur = self.round
        bonded, _ = self._claimed(d, cur)
        _check(bonded != 0, "caller must be bonded")
        _check(self._lock_amount(d, lock_id) > 0, "invalid unbonding lock ID")
        self._claim(d, cur)
        self._process_rebond(d, lock_id, cur)

    def rebond_from_unbonded(self, d: str, to: str, lock_id: int) -> None:
        """Bond an unbonding lock of a fully unbonded `d` to `to`."""
        self._require_initialized()
        _check(to != ZERO, "delegate is the zero address")
        cur = self.round
        bonded, _ = self._claimed(d, cur)
        _check(bonded == 0, "caller must be unbonded")
        _check(self._lock_amount(d, lock_id) > 0, "invalid unbonding lock ID")
        self._claim(d, cur)
        rec = self.delegator(d)
        rec.bonded, rec.start_round, rec.last_claim_round = 0, cur + 1, cur
        rec.delegate = to
        self._pin_factors(to, cur)
        self._process_rebond(d, lock_id, cur)

    def withdraw_stake(self, d: str, lock_id: int) -> int:
        """Pay out an unbonding lock whose period is over; returns the amount."""
        self._require_initialized()
        amount = self._lock_amount(d, lock_id)
        _check(amount > 0, "invalid unbonding lock ID")
        rec = self.delegators[d]
        _check(rec.locks[lock_id].withdraw_round <= self.round, "withdraw round must be before or equal to the current round")
        del rec.locks[lock_id]
        self.held -= amount
        self.balances[d] = self.balances.get(d, 0) + amount
        return amount

    def withdraw_fees(self, d: str, amount: int) -> None:
        """Take `amount` of `d`'s fees (ETH, paid by the TicketBroker: not modelled)."""
        self._require_initialized()
        _, fees = self._claimed(d, self.round)
        _check(fees >= amount, "insufficient fees to withdraw")
        self._claim(d, self.round)
        self.delegator(d).fees -= amount

    def claim_earnings(self, d: str) -> None:
        """Fold `d`'s rewards and fees up to the current round into its stake and fees."""
        self._require_initialized()
        self._claim(d, self.round)

    def transfer(self, frm: str, to: str, amount: int) -> None:
        """A plain token transfer between holders."""
        _check(self.balances.get(frm, 0) >= amount, "insufficient balance")
        self.balances[frm] -= amount
        self.balances[to] = self.balances.get(to, 0) + amount

    def lock(self, d: str, lock_id: int) -> UnbondingLock | None:
        rec = self.delegators.get(d)
        return rec.locks.get(lock_id) if rec else None
