"""What the explorer serves: the chain history its indexer keeps, as pydantic models.

`framemesh.explorer.index.ChainHistory` returns these; pages render them and serve them
as JSON unchanged. Token and wei amounts are `Amount`: a Python `int` (exact, for
templates and sums), written as a decimal string in JSON, because a uint256 does not
fit a JSON number that a browser reads exactly. Fractions (shares, rates, progress)
are floats in 0..1; the raw protocol values beside them keep their fixed-point scale
(reward cut and fee share over 1e6, inflation over 1e9).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, PlainSerializer, field_serializer

Amount = Annotated[int, PlainSerializer(str, return_type=str, when_used="json")]
"""Wei (ETH fees, deposits, face values) or token base units (stake, supply, rewards)."""


class IndexStatus(BaseModel):
    """How far the indexer has come, and where the chain is in its round."""

    chain_id: int
    head_block: int | None = Field(description="The chain head the indexer saw last (None before its first look).")
    indexed_block: int = Field(description="Every block up to this one is in the index.")
    blocks_behind: int | None
    seconds_behind: float | None = Field(description="Head block time minus indexed block time, when both are known.")
    head_seen_at: float | None = Field(description="Unix time the indexer last read the head.")
    current_round: int | None = Field(description="The round of the head block (None before the first round is indexed).")
    round_initialized: bool
    round_length: int | None
    round_start_block: int | None
    round_progress: float | None = Field(description="Blocks into the current round over its length, 0..1.")
    lagging: bool = Field(description="True when the data may be out of date: far behind the head, or the indexer stalled.")
    lag_reason: str | None = Field(default=None, description="Why `lagging` is set, in words.")


class RoundSummary(BaseModel):
    """One initialized round."""

    round: int
    start_block: int
    length: int
    complete: bool = Field(description="The index has passed the round's last block (missed reward calls are final).")
    initialized_block: int
    initialized_by: str = Field(description="Who sent the initializeRound transaction.")
    initialized_tx: str
    initialized_at: int | None = Field(default=None, description="Unix time of the block that initialized it.")
    inflation: int | None = Field(description="Inflation for the round, over 1e9.")
    inflation_rate: float | None = Field(description="Inflation as a fraction per round.")
    mintable: Amount | None = Field(description="Tokens the round may mint (SetCurrentRewardTokens).")
    minted: Amount = Field(description="Tokens minted by reward calls in the round.")
    active_orchestrators: int = Field(description="Orchestrators active in the round.")
    active_stake: Amount | None = Field(description="Total active stake of the round.")
    reward_calls: int
    reward_calls_missed: int = Field(description="Active orchestrators that have not called reward (so far, if not complete).")
    fees: Amount = Field(description="Fees credited to orchestrators in the round (wei).")
    tickets_redeemed: int = Field(description="Winning tickets redeemed in the round.")
    tickets_redeemed_face_value: Amount
    tickets_won: int = Field(description="Winning tickets created in the round (their auxData) and redeemed so far.")
    tickets_won_face_value: Amount
    total_supply: Amount | None = Field(description="Token supply at the round's initialization, when readable.")
    total_bonded: Amount | None = Field(description="Bonded tokens at the round's initialization, when readable.")
    bonding_rate: float | None = Field(description="total_bonded / total_supply at initialization.")


class RoundSeries(BaseModel):
    """Per-round columns for charts (uPlot takes columns): index i of every list is `rounds[i]`.
    Token amounts are in whole tokens and wei amounts in ETH, as floats (charts need numbers)."""

    rounds: list[int]
    timestamps: list[int | None] = Field(description="Unix time each round was initialized.")
    inflation_rate: list[float | None]
    bonding_rate: list[float | None]
    total_supply: list[float | None]
    minted: list[float]
    fees: list[float]
    tickets_won: list[int]
    tickets_redeemed: list[int]
    reward_calls: list[int]
    reward_calls_missed: list[int]


class CutChange(BaseModel):
    """A TranscoderUpdate: an orchestrator set (or changed) its terms."""

    round: int
    block: int
    tx_hash: str
    reward_cut: int = Field(description="Over 1e6: the share of rewards the orchestrator keeps.")
    fee_share: int = Field(description="Over 1e6: the share of fees passed to delegators.")
    reward_cut_fraction: float
    fee_share_fraction: float


class OrchestratorSummary(BaseModel):
    address: str
    service_uri: str | None
    registered: bool
    active: bool = Field(description="Active in the current round.")
    stake: Amount = Field(description="Total stake delegated to it (itself included), now.")
    stake_share: float = Field(description="Its stake over all orchestrators' stake.")
    reward_cut: int | None
    fee_share: int | None
    reward_cut_fraction: float | None
    fee_share_fraction: float | None
    fees_total: Amount
    fees_last_round: Amount = Field(description="Fees credited in the last complete round.")
    fees_recent: Amount = Field(description="Fees credited over the recent window (the last 30 rounds).")
    network_fee_share: float | None = Field(description="Its fees over the network's, in the recent window.")
    fee_vs_stake: float | None = Field(description="network_fee_share / stake_share: below 1 earns less than its weight.")
    reward_calls_recent: int = Field(description="Reward calls over the recent window.")
    reward_calls_missed_recent: int
    reward_calls: int
    reward_calls_missed: int
    last_reward_round: int | None
    last_cut_change_round: int | None
    activation_round: int | None
    deactivation_round: int | None
    delegators: int = Field(description="Addresses bonded to it now (itself included).")
    tickets_redeemed: int
    tickets_face_value: Amount


class OrchestratorRound(BaseModel):
    round: int
    active: bool
    stake: Amount | None = Field(description="Its active stake in the round, when it was active.")
    reward_called: bool
    reward_missed: bool = Field(description="Active in a finished round and no reward call: final.")
    reward: Amount = Field(description="Tokens its reward call minted (0 if none).")
    reward_cut: int | None = Field(description="The reward cut at its reward call.")
    fees: Amount
    tickets: int
    tickets_face_value: Amount


class DelegatorStake(BaseModel):
    address: str
    bonded: Amount = Field(description="Bonded amount at the delegator's last bond/unbond/claim (earnings since are pending).")
    start_round: int | None


class OrchestratorDetail(OrchestratorSummary):
    cut_history: list[CutChange]
    rounds: list[OrchestratorRound] = Field(description="Newest first: reward calls made/missed, fees and tickets per round.")
    delegator_list: list[DelegatorStake]
    recent_window: int = Field(description="Rounds in the 'recent' window.")


class UnbondingLock(BaseModel):
    id: int
    delegate: str
    amount: Amount
    withdraw_round: int
    state: str = Field(description="'unbonding', 'withdrawable', 'withdrawn' or 'rebonded'.")


class DelegatorRound(BaseModel):
    """What a delegator earned in one round from its orchestrator's pools."""

    round: int
    delegate: str
    stake: Amount = Field(description="Its stake in the round (bonded plus unclaimed rewards before it).")
    rewards: Amount
    fees: Amount


class DelegatorDetail(BaseModel):
    address: str
    delegate: str | None
    bonded: Amount = Field(description="Bonded at the last bond/unbond/claim.")
    stake: Amount = Field(description="Bonded plus rewards earned since the last claim, as the index computes them.")
    start_round: int | None
    last_claim_round: int | None
    unclaimed_rewards: Amount
    unclaimed_fees: Amount
    pending_fees: Amount = Field(description="Fees it could withdraw now: claimed and not withdrawn, plus unclaimed.")
    rewards_total: Amount = Field(description="All rewards earned while indexed.")
    fees_total: Amount
    fees_withdrawn: Amount
    is_orchestrator: bool
    unbonding: list[UnbondingLock]
    earnings: list[DelegatorRound] = Field(description="Newest first; rounds with no earnings are left out.")


class GatewayRound(BaseModel):
    round: int
    tickets: int
    face_value: Amount
    deposit_funded: Amount
    reserve_funded: Amount


class GatewayPayee(BaseModel):
    orchestrator: str
    tickets: int
    face_value: Amount


class GatewaySummary(BaseModel):
    address: str
    deposit: Amount = Field(description="Deposit now.")
    reserve: Amount = Field(description="Reserve now.")
    deposit_funded: Amount = Field(description="All deposit ever funded.")
    reserve_funded: Amount
    tickets_redeemed: int
    face_value: Amount = Field(description="Face value of its tickets redeemed.")
    paid: Amount = Field(description="What the redemptions took from its deposit and reserve.")
    unlocking_until_round: int | None = Field(description="Set while an unlock is in progress.")
    last_active_round: int | None


class GatewayDetail(GatewaySummary):
    rounds: list[GatewayRound] = Field(description="Newest first.")
    orchestrators: list[GatewayPayee]


class ChainEvent(BaseModel):
    """One contract event, decoded."""

    name: str
    contract: str
    block: int
    log_index: int
    round: int | None
    timestamp: int | None
    tx_hash: str
    tx_from: str | None
    fields: dict[str, Any] = Field(
        description="The event's arguments: addresses and hex strings as they are, numbers as ints"
        " (in JSON, a number past 2**53, which a browser would round, as a decimal string)."
    )

    @field_serializer("fields", when_used="json")
    def _exact_in_json(self, fields: dict[str, Any]) -> dict[str, Any]:
        return {k: str(v) if _unsafe_in_js(v) else v for k, v in fields.items()}


def _unsafe_in_js(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53
