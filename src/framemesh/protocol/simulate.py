"""Many rounds of the economics model with a population of orchestrators and delegators.

`simulate(config)` plays `config.rounds` rounds of `framemesh.protocol.model.Economy`
and returns one `RoundStats` per round. Everything random comes from one
`random.Random(config.seed)`, so a seed gives the same series every time.

The population:

- orchestrators self-bond, set a random reward cut and fee share, and each round call
  `reward()` with probability `reward_probability` (most do, not all, not always);
- delegators hold tokens, part bonded and part in their wallets, and act now and then
  (with probability `activity` each round) by their behaviour:
  - *reactive* (most): compare the round's reward yield on bonded stake
    (inflation / bonding rate) with a hurdle of their own; bond a part of their wallet
    when the yield beats it, unbond a part of their stake when it does not. This is
    the feedback the Minter counts on: below the target the inflation rises until
    bonding pays enough, above it the inflation falls;
  - *accumulators* bond a part of their wallet whenever they act;
  - *leavers* unbond a part of their stake whenever they act;
  and every delegator withdraws an unbonding lock as soon as its period is over;
- fees: each round a random amount of fees (exponential around `mean_fees`) is paid
  to active orchestrators, chosen with chances proportional to their stake, as
  redeemed winning tickets.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from framemesh.protocol.model import (
    BONDED,
    MINTER_DIVISOR,
    PERC_DIVISOR,
    Economy,
    Params,
)

E18 = 10**18

#: builds the ledger a simulation plays on from the parameters and starting balances
EconomyFactory = Callable[[Params, dict[str, int]], Economy]


class Behaviour(enum.Enum):
    REACTIVE = "reactive"
    ACCUMULATOR = "accumulator"
    LEAVER = "leaver"


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. Amounts in wei; rates as fractions (0.5 is 50%)."""

    rounds: int = 2000
    seed: int = 0
    orchestrators: int = 20
    delegators: int = 500
    initial_bonding_rate: float = 0.3
    supply: int = 10_000_000 * E18
    params: Params = field(default_factory=Params)
    reward_probability: float = 0.95
    activity: float = 0.02  # chance a delegator acts in a round
    step: float = 0.25  # the part of its wallet (or stake) a delegator moves when it acts
    accumulators: float = 0.1  # share of delegators by behaviour; the rest are reactive
    leavers: float = 0.1
    hurdle_spread: float = 0.5  # hurdles are spread +-this around the yield at the target
    mean_fees: int = 10**18  # wei of ETH paid in fees per round, on average

    def __post_init__(self) -> None:
        if self.rounds < 0:
            raise ValueError(f"rounds must be >= 0, got {self.rounds}")
        if self.orchestrators < 1:
            raise ValueError(f"orchestrators must be >= 1, got {self.orchestrators}")
        if self.delegators < 0:
            raise ValueError(f"delegators must be >= 0, got {self.delegators}")
        if not 0.0 <= self.initial_bonding_rate <= 1.0:
            raise ValueError(f"initial_bonding_rate must be within 0..1, got {self.initial_bonding_rate}")
        for name in ("reward_probability", "activity", "step", "accumulators", "leavers", "hurdle_spread"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {getattr(self, name)}")
        if self.accumulators + self.leavers > 1.0:
            raise ValueError("accumulators + leavers must not exceed 1")
        if self.supply <= 0 or self.mean_fees < 0:
            raise ValueError("supply must be positive and mean_fees not negative")


@dataclass(frozen=True)
class RoundStats:
    """One round of the series, as it stands at the round's end."""

    round: int
    inflation: int  # over 1e9, per round
    bonding_rate: int  # over 1e9
    total_supply: int
    total_bonded: int
    rewards: int  # tokens minted this round
    fees: int  # wei of fees credited this round
    active: int  # orchestrators in the round's active set


@dataclass
class _Holder:
    address: str
    behaviour: Behaviour
    hurdle: float  # reward yield per round below which a reactive delegator leaves


class Simulation:
    """The population and the model; `step()` plays one round."""

    def __init__(self, config: SimConfig, economy: EconomyFactory = Economy, names: Sequence[str] | None = None) -> None:
        """`economy` builds the ledger from the parameters and the starting balances
        (the tests pass one that plays every move on the contracts as well); `names`
        are the orchestrators' then the delegators' addresses (made up by default)."""
        self.config = config
        self.rng = random.Random(config.seed)
        c, rng = config, self.rng
        if names is None:
            names = [f"orchestrator-{i}" for i in range(c.orchestrators)] + [f"delegator-{i}" for i in range(c.delegators)]
        if len(names) != c.orchestrators + c.delegators:
            raise ValueError(f"names: {len(names)} given for {c.orchestrators} orchestrators and {c.delegators} delegators")
        self.orchestrators = list(names[: c.orchestrators])
        self.delegators = [self._holder(name) for name in names[c.orchestrators :]]
        # holdings: orchestrators self-bond a fifth of the bonded stake (at least 1%
        # of the supply between them); delegators share the rest, lognormally
        target_bonded = int(c.supply * c.initial_bonding_rate)
        orch_stake = max(target_bonded // 5, c.supply // 100) // c.orchestrators
        weights = [rng.lognormvariate(0.0, 1.0) for _ in self.delegators]
        rest = c.supply - orch_stake * c.orchestrators
        holdings = [int(rest * w / sum(weights)) for w in weights] if weights else []
        balances = {o: orch_stake for o in self.orchestrators}
        balances.update({h.address: amount for h, amount in zip(self.delegators, holdings, strict=True)})
        balances["treasury"] = c.supply - sum(balances.values())  # rounding dust
        self.model = m = economy(c.params, balances)
        m.initialize_round()
        for o in self.orchestrators:
            m.bond(o, orch_stake, o)
            m.transcoder(o, rng.randrange(0, PERC_DIVISOR // 2), rng.randrange(0, PERC_DIVISOR + 1))
        share = max(0, target_bonded - orch_stake * c.orchestrators) / rest if rest else 0.0
        for h, amount in zip(self.delegators, holdings, strict=True):
            bond = int(amount * min(share, 1.0))
            if bond:
                m.bond(h.address, bond, rng.choice(self.orchestrators))
        self.due: dict[int, list[tuple[str, int]]] = {}
        self.stats: list[RoundStats] = []

    def _holder(self, name: str) -> _Holder:
        c, rng = self.config, self.rng
        x = rng.random()
        behaviour = Behaviour.ACCUMULATOR if x < c.accumulators else Behaviour.LEAVER if x < c.accumulators + c.leavers else Behaviour.REACTIVE
        at_target = c.params.inflation / c.params.target_bonding_rate if c.params.target_bonding_rate else 0.0
        hurdle = at_target * (1.0 + c.hurdle_spread * (2.0 * rng.random() - 1.0))
        return _Holder(name, behaviour, hurdle)

    def yield_per_round(self) -> float:
        """The round's reward tokens per bonded token (inflation / bonding rate)."""
        m = self.model
        return m.mintable / m.total_bonded if m.total_bonded else float("inf")

    def step(self) -> RoundStats:
        c, m, rng = self.config, self.model, self.rng
        m.initialize_round()
        cur = m.round
        for d, lock_id in self.due.pop(cur, []):
            m.withdraw_stake(d, lock_id)
        for o in self.orchestrators:
            if m.is_active(o) and rng.random() < c.reward_probability:
                m.reward(o)
        fees = self._pay_fees()
        y = self.yield_per_round()
        for h in self.delegators:
            if rng.random() < c.activity:
                self._act(h, y)
        row = RoundStats(cur, m.inflation, m.bonding_rate(), m.total_supply, m.total_bonded, m.minted_this_round, fees, m.current_round_active_set_size)
        self.stats.append(row)
        return row

    def _pay_fees(self) -> int:
        c, m, rng = self.config, self.model, self.rng
        active = [o for o in self.orchestrators if m.is_active(o)]
        if not active or c.mean_fees == 0:
            return 0
        total = int(rng.expovariate(1.0) * c.mean_fees)
        tickets = rng.randint(1, 2 * len(active))
        stakes = [m.active_stake(o) for o in active]
        paid = 0
        for _ in range(tickets):
            o = rng.choices(active, weights=stakes)[0]
            value = total // tickets
            if value:
                m.update_transcoder_with_fees(o, value)
                paid += value
        return paid

    def _act(self, h: _Holder, reward_yield: float) -> None:
        m, c, d = self.model, self.config, h.address
        bond = h.behaviour is Behaviour.ACCUMULATOR or (h.behaviour is Behaviour.REACTIVE and reward_yield > h.hurdle)
        if bond:
            amount = int(m.balances.get(d, 0) * c.step)
            if amount:
                rec = m.delegators.get(d)
                to = rec.delegate if rec and rec.bonded else self.rng.choice(self.orchestrators)
                m.bond(d, amount, to)
        elif m.status(d) == BONDED:
            amount = int(m.pending_stake(d) * c.step) or m.pending_stake(d)
            lock_id = m.unbond(d, amount)
            self.due.setdefault(m.round + c.params.unbonding_period, []).append((d, lock_id))

    def run(self, on_round: Callable[[RoundStats], None] | None = None) -> list[RoundStats]:
        for _ in range(self.config.rounds):
            row = self.step()
            if on_round is not None:
                on_round(row)
        return self.stats


def simulate(config: SimConfig, on_round: Callable[[RoundStats], None] | None = None) -> list[RoundStats]:
    """Run `config.rounds` rounds; `on_round` is called after each (for progress)."""
    return Simulation(config).run(on_round)


def as_fraction(value: int) -> float:
    """A rate over 1e9 as a fraction (500_000_000 -> 0.5)."""
    return value / MINTER_DIVISOR
