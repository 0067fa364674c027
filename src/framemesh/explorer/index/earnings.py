"""Reward and fee pools, as the BondingManager keeps them (LIP-36), off-chain. Pure.

An orchestrator's pools are two running factors per round: the cumulative reward
factor (how much one unit staked at the start has grown) and the cumulative fee
factor (fees earned per unit). A delegator who last claimed in round c with bonded
stake s has, at round r:

    stake(r) = s * crf(r) / crf(c)          fees(r) = s * (cff(r) - cff(c)) / crf(c)

(plus, for the orchestrator itself, the commission it keeps: its reward cut of each
reward, and the fees it does not share). `OrchestratorPools` replays the contract's
integer arithmetic step by step (same rounding, same fallbacks for rounds without a
reward), so what it computes matches ``pendingStake``/``pendingFees`` to the wei;
`split_segment` spreads a delegator's earnings between two claims over the rounds.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

PERC_DIVISOR = 10**6
PRECISE_PERC_DIVISOR = 10**27


def perc_of(amount: int, perc: int) -> int:
    """``amount * perc / 1e6`` as the contract rounds it."""
    return amount * perc // PERC_DIVISOR


def precise_perc_of(amount: int, num: int, den: int) -> int:
    """``amount * num / den`` through a 1e27 fixed-point fraction, as the contract rounds it."""
    if den == 0:
        return 0
    return amount * (num * PRECISE_PERC_DIVISOR // den) // PRECISE_PERC_DIVISOR


@dataclass(frozen=True)
class RewardSplit:
    minted: int
    commission: int  # the orchestrator's reward cut of it
    delegators: int  # shared by stake (the orchestrator's own stake included)


def split_reward(minted: int, reward_cut: int) -> RewardSplit:
    commission = perc_of(minted, reward_cut)
    return RewardSplit(minted, commission, minted - commission)


def split_fees(fees: int, fee_share: int) -> tuple[int, int]:
    """(commission the orchestrator keeps, fees shared with delegators)."""
    shared = perc_of(fees, fee_share)
    return fees - shared, shared


@dataclass
class OrchestratorPools:
    """One orchestrator's earnings pools and its own unclaimed earnings."""

    crf: dict[int, int] = field(default_factory=dict)  # round -> cumulativeRewardFactor (absent: 0)
    cff: dict[int, int] = field(default_factory=dict)  # round -> cumulativeFeeFactor
    last_reward_round: int = 0
    last_fee_round: int = 0
    cumulative_rewards: int = 0  # its own rewards since its last claim
    active_cumulative_rewards: int = 0  # cumulative_rewards as it was before this round's reward
    cumulative_fees: int = 0

    def reward(self, round_: int, minted: int, reward_cut: int, stake: int) -> int:
        """A reward call minted `minted` with this stake in the round; returns the
        orchestrator's own gain (commission plus its share on its unclaimed rewards)."""
        split = split_reward(minted, reward_cut)
        active = self.cumulative_rewards
        own = precise_perc_of(split.delegators, active, stake) + split.commission
        self.active_cumulative_rewards = active
        self.cumulative_rewards = active + own
        prev = self.crf.get(self.last_reward_round, 0)
        if prev != 0 and self.last_reward_round + 1 < round_:
            self.crf[round_ - 1] = prev  # a missed round: what fees later this round build on
        if prev == 0:
            prev = PRECISE_PERC_DIVISOR
        self.crf[round_] = prev + precise_perc_of(prev, split.delegators, stake)
        self.last_reward_round = round_
        return own

    def fees(self, round_: int, amount: int, fee_share: int, stake: int) -> int:
        """`amount` wei of fees credited in the round; returns the orchestrator's own gain."""
        active = self.active_cumulative_rewards if round_ <= self.last_reward_round else self.cumulative_rewards
        commission, shared = split_fees(amount, fee_share)
        own = precise_perc_of(shared, active, stake) + commission
        self.cumulative_fees += own
        prev_crf = self.crf.get(round_ - 1, 0)
        if prev_crf == 0 and self.last_reward_round < round_ - 1:
            prev_crf = self.crf.get(self.last_reward_round, 0)
        if prev_crf == 0:
            prev_crf = PRECISE_PERC_DIVISOR
        base = self.cff.get(round_, 0)
        if base == 0:
            base = self.cff.get(round_ - 1, 0)
            if base == 0 and self.last_fee_round < round_ - 1:
                base = self.cff.get(self.last_fee_round, 0)
        self.cff[round_] = base + precise_perc_of(prev_crf, shared, stake)
        self.last_fee_round = round_
        return own

    def pin(self, round_: int) -> None:
        """Store the latest factors at `round_` (a claim or bond there starts from them)."""
        if self.crf.get(round_, 0) == 0 and self.last_reward_round < round_:
            value = self.crf.get(self.last_reward_round, 0)
            if value:
                self.crf[round_] = value
        if self.cff.get(round_, 0) == 0 and self.last_fee_round < round_:
            value = self.cff.get(self.last_fee_round, 0)
            if value:
                self.cff[round_] = value

    def latest(self, round_: int) -> tuple[int, int]:
        """(crf, cff) as they stand in `round_` (0 for a factor never set)."""
        crf = self.crf.get(round_, 0)
        if crf == 0 and self.last_reward_round < round_:
            crf = self.crf.get(self.last_reward_round, 0)
        cff = self.cff.get(round_, 0)
        if cff == 0 and self.last_fee_round < round_:
            cff = self.cff.get(self.last_fee_round, 0)
        return crf, cff

    def claimed_by_self(self) -> None:
        """The orchestrator claimed: its own unclaimed earnings moved into its stake and fees."""
        self.cumulative_rewards = 0
        self.cumulative_fees = 0

    def end_of_round(self, round_: int) -> tuple[int, int]:
        """(crf, cff) at the end of a past round: the last factor set at or before it."""
        return _Timeline(self.crf).at(round_), _Timeline(self.cff).at(round_)


class _Timeline:
    """Factors by round, to ask for the one in force at a round (sorted once)."""

    def __init__(self, factors: dict[int, int]) -> None:
        self.factors = factors
        self.rounds = sorted(k for k, v in factors.items() if v)

    def at(self, round_: int) -> int:
        i = bisect_right(self.rounds, round_)
        return self.factors[self.rounds[i - 1]] if i else 0


@dataclass(frozen=True)
class Pending:
    stake: int
    fees: int


def pending(
    pools: OrchestratorPools, *, bonded: int, fees: int, last_claim: int, round_: int, is_self: bool
) -> Pending:
    """What ``pendingStake``/``pendingFees`` answer for a delegator of this orchestrator."""
    stake = bonded
    if last_claim < round_:
        start_crf = pools.crf.get(last_claim, 0) or PRECISE_PERC_DIVISOR
        start_cff = pools.cff.get(last_claim, 0)
        end_crf, end_cff = pools.latest(round_)
        end_crf = end_crf or PRECISE_PERC_DIVISOR
        fees += precise_perc_of(bonded, end_cff - start_cff, start_crf)
        stake = precise_perc_of(bonded, end_crf, start_crf)
    if is_self:
        stake += pools.cumulative_rewards
        fees += pools.cumulative_fees
    return Pending(stake, fees)


@dataclass(frozen=True)
class RoundEarning:
    round: int
    stake: int  # at the start of the round
    rewards: int
    fees: int


def split_segment(
    pools: OrchestratorPools,
    *,
    bonded: int,
    start_round: int,
    end_round: int,
    total_rewards: int,
    total_fees: int,
    own_rewards: dict[int, int] | None = None,
    own_fees: dict[int, int] | None = None,
) -> list[RoundEarning]:
    """Spread what a delegator earned between its claim in `start_round` and
    `end_round` (a claim, or now) over the rounds in between, oldest first.

    Each past round's share comes from the factors at its end; the last round takes
    the rest of `total_rewards`/`total_fees` (what the claim event or `pending` gave),
    so the rounds always add up to the totals exactly. `own_rewards`/`own_fees` (round
    -> amount) are the orchestrator's own commission gains, for its own page.
    """
    start_crf = pools.crf.get(start_round, 0) or PRECISE_PERC_DIVISOR
    start_cff = pools.cff.get(start_round, 0)
    own_rewards = own_rewards or {}
    own_fees = own_fees or {}
    out: list[RoundEarning] = []
    stake_before = bonded
    fees_before = 0
    rewards_so_far = fees_so_far = 0
    crfs, cffs = _Timeline(pools.crf), _Timeline(pools.cff)
    for r in range(start_round + 1, end_round):
        crf, cff = crfs.at(r), cffs.at(r)
        stake_after = precise_perc_of(bonded, crf or PRECISE_PERC_DIVISOR, start_crf)
        fees_after = precise_perc_of(bonded, max(0, cff - start_cff), start_crf)
        rewards = stake_after - stake_before + own_rewards.get(r, 0)
        fees = fees_after - fees_before + own_fees.get(r, 0)
        out.append(RoundEarning(r, bonded + rewards_so_far, rewards, fees))
        rewards_so_far += rewards
        fees_so_far += fees
        stake_before, fees_before = stake_after, fees_after
    if end_round > start_round:
        out.append(
            RoundEarning(end_round, bonded + rewards_so_far, total_rewards - rewards_so_far, total_fees - fees_so_far)
        )
    return out
