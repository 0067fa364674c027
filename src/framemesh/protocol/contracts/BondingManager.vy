# pragma version ~=0.4.3
"""
@title BondingManager
@notice Orchestrator registration, delegation, unbonding, the active set, reward and fee
        accounting, slashing: Livepeer's rules (LIP-36 cumulative earnings).

        Scales: reward cut, fee share, slash amount and finder fee over 1e6;
        cumulative reward and fee factors over 1e27.  Rounding is down, as in Livepeer.

        The pool (candidate set for the next round, at most `numActiveTranscoders`) is a
        linked list sorted by stake, descending.  Changes to it take effect next round:
        an orchestrator that joins gets `activationRound = current + 1`, one that leaves
        `deactivationRound = current + 1`; the active set of a round is the pool as it
        stood when the round began.  An orchestrator's stake is kept with the round it
        applies from, so its stake in the current round is known in O(1); the pool's
        total is copied at `initializeRound`, exact because every change to the pool
        needs an initialized round.  List positions come from caller hints
        (`...WithHint`), checked in O(1); without hints the list is walked from the
        orchestrator's old position (local moves are cheap).

        This contract holds bonded stake (tokens); the TicketBroker holds fees (ETH).
"""

interface IToken:
    def transferFrom(_from: address, _to: address, _value: uint256) -> bool: nonpayable
    def transfer(_to: address, _value: uint256) -> bool: nonpayable
    def burn(_amount: uint256): nonpayable

interface IRoundsManager:
    def currentRound() -> uint256: view
    def currentRoundInitialized() -> bool: view
    def currentRoundLocked() -> bool: view

interface IMinter:
    def createReward(_fracNum: uint256, _fracDenom: uint256) -> uint256: nonpayable

interface ITicketBroker:
    def withdrawFeesTo(_recipient: address, _amount: uint256): nonpayable

PERC_DIVISOR: constant(uint256) = 10**6
PRECISE_PERC_DIVISOR: constant(uint256) = 10**27
MAX_ROUND: constant(uint256) = 2**48 - 1
MASK48: constant(uint256) = 2**48 - 1
MASK32: constant(uint256) = 2**32 - 1
MAX_POOL: constant(uint256) = 1000
MASK64: constant(uint256) = 2**64 - 1
MASK128: constant(uint256) = 2**128 - 1
MASK127: constant(uint256) = 2**127 - 1
# set in an orchestrator's `rewards` and `cumulativeFees` slots from registration on, so
# that resetting them at a claim never returns the slot to zero (a later write from zero
# costs 20,000 gas, from non-zero 2,900)
FLAG: constant(uint256) = 2**255
MASK255: constant(uint256) = 2**255 - 1

# delegator status (Livepeer's order)
PENDING: constant(uint256) = 0
BONDED: constant(uint256) = 1
UNBONDED: constant(uint256) = 2


# Livepeer's Transcoder, as `getTranscoder` returns it
struct Transcoder:
    lastRewardRound: uint256
    rewardCut: uint256
    feeShare: uint256
    lastActiveStakeUpdateRound: uint256
    activationRound: uint256
    deactivationRound: uint256
    activeCumulativeRewards: uint256
    cumulativeRewards: uint256
    cumulativeFees: uint256
    lastFeeRound: uint256

# the round numbers and terms of an orchestrator, stored packed in one slot
struct Info:
    lastRewardRound: uint256
    lastFeeRound: uint256
    activationRound: uint256
    deactivationRound: uint256
    rewardCut: uint256
    feeShare: uint256

# an orchestrator in storage: 4 slots
struct TranscoderSlots:
    # Info: 48 bits per round (lastReward, lastFee, activation, deactivation), 32 per term
    info: uint256
    # cumulativeRewards | activeCumulativeRewards << 128 (127 bits) | FLAG
    rewards: uint256
    # cumulativeFees | FLAG
    cumulativeFees: uint256
    # stake in rounds before lastActiveStakeUpdateRound (from it on: delegatedAmount)
    # | lastActiveStakeUpdateRound << 192
    stake: uint256

struct EarningsPool:
    cumulativeRewardFactor: uint256
    cumulativeFeeFactor: uint256

struct Delegator:
    # bondedAmount | startRound << 128 | lastClaimRound << 192
    packed: uint256
    fees: uint256
    delegateAddress: address
    delegatedAmount: uint256
    nextUnbondingLockId: uint256

struct UnbondingLock:
    amount: uint256
    withdrawRound: uint256


event TranscoderUpdate:
    transcoder: indexed(address)
    rewardCut: uint256
    feeShare: uint256

event TranscoderActivated:
    transcoder: indexed(address)
    activationRound: uint256

event TranscoderDeactivated:
    transcoder: indexed(address)
    deactivationRound: uint256

event TranscoderSlashed:
    transcoder: indexed(address)
    finder: address
    penalty: uint256
    finderReward: uint256

event Reward:
    transcoder: indexed(address)
    amount: uint256

event Bond:
    newDelegate: indexed(address)
    oldDelegate: indexed(address)
    delegator: indexed(address)
    additionalAmount: uint256
    bondedAmount: uint256

event Unbond:
    delegate: indexed(address)
    delegator: indexed(address)
    unbondingLockId: uint256
    amount: uint256
    withdrawRound: uint256

event Rebond:
    delegate: indexed(address)
    delegator: indexed(address)
    unbondingLockId: uint256
    amount: uint256

event WithdrawStake:
    delegator: indexed(address)
    unbondingLockId: uint256
    amount: uint256
    withdrawRound: uint256

event WithdrawFees:
    delegator: indexed(address)
    recipient: address
    amount: uint256

event EarningsClaimed:
    delegate: indexed(address)
    delegator: indexed(address)
    rewards: uint256
    fees: uint256
    startRound: uint256
    endRound: uint256

event FeesCredited:
    transcoder: indexed(address)
    fees: uint256
    round: uint256

event SetCurrentRoundTotalActiveStake:
    round: uint256
    totalActiveStake: uint256
    activeSetSize: uint256

event GovernorTransferred:
    previous: indexed(address)
    governor: indexed(address)

event ParameterUpdate:
    param: String[32]
    value: uint256

event SetContract:
    name: String[32]
    addr: address


token: public(immutable(address))
roundsManager: public(immutable(address))
governor: public(address)
minter: public(address)
ticketBroker: public(address)
verifier: public(address)
unbondingPeriod: public(uint256)
numActiveTranscoders: public(uint256)

transcoders: HashMap[address, TranscoderSlots]
earningsPools: HashMap[address, HashMap[uint256, EarningsPool]]
delegators: HashMap[address, Delegator]
unbondingLocks: HashMap[address, HashMap[uint256, UnbondingLock]]

# totalBonded | nextRoundTotalActiveStake << 128
_packedTotals: uint256
currentRoundTotalActiveStake: public(uint256)
currentRoundActiveSetSize: public(uint256)

# the pool: a doubly linked list sorted by delegatedAmount, descending
poolHead: address
poolTail: address
poolSize: uint256
poolPrev: HashMap[address, address]
poolNext: HashMap[address, address]


@deploy
def __init__(_token: address, _roundsManager: address, _unbondingPeriod: uint256, _numActiveTranscoders: uint256):
    assert _unbondingPeriod > 0, "unbonding period cannot be 0"
    assert _numActiveTranscoders > 0, "numActiveTranscoders cannot be 0"
    assert _numActiveTranscoders <= MAX_POOL, "numActiveTranscoders too large"
    token = _token
    roundsManager = _roundsManager
    self.governor = msg.sender
    self.verifier = msg.sender
    self.unbondingPeriod = _unbondingPeriod
    self.numActiveTranscoders = _numActiveTranscoders


# ---------------------------------------------------------------- maths

@internal
@pure
def _perc_of(_amount: uint256, _perc: uint256) -> uint256:
    return _amount * _perc // PERC_DIVISOR


@internal
@pure
def _precise_perc_of(_amount: uint256, _num: uint256, _den: uint256) -> uint256:
    # PreciseMathUtils.percOf: amount * (num * 1e27 / den) / 1e27
    return _amount * (_num * PRECISE_PERC_DIVISOR // _den) // PRECISE_PERC_DIVISOR


# ---------------------------------------------------------------- small readers

@internal
@view
def _round() -> uint256:
    return staticcall IRoundsManager(roundsManager).currentRound()


@internal
@view
def _require_initialized():
    assert staticcall IRoundsManager(roundsManager).currentRoundInitialized(), "current round is not initialized"


@internal
@view
def _unpack(_d: address) -> (uint256, uint256, uint256):
    p: uint256 = self.delegators[_d].packed
    return p & MASK128, (p >> 128) & MASK64, p >> 192


@internal
def _pack(_d: address, _bonded: uint256, _start: uint256, _lastClaim: uint256):
    assert _bonded <= MASK128, "bonded amount too large"
    self.delegators[_d].packed = _bonded | (_start << 128) | (_lastClaim << 192)


@internal
@view
def _info(_t: address) -> Info:
    p: uint256 = self.transcoders[_t].info
    return Info(
        lastRewardRound=p & MASK48,
        lastFeeRound=(p >> 48) & MASK48,
        activationRound=(p >> 96) & MASK48,
        deactivationRound=(p >> 144) & MASK48,
        rewardCut=(p >> 192) & MASK32,
        feeShare=p >> 224,
    )


@internal
def _set_info(_t: address, _i: Info):
    assert _i.lastRewardRound <= MASK48 and _i.lastFeeRound <= MASK48 and _i.activationRound <= MASK48 and _i.deactivationRound <= MASK48, "round too large"
    self.transcoders[_t].info = _i.lastRewardRound | (_i.lastFeeRound << 48) | (_i.activationRound << 96) | (_i.deactivationRound << 144) | (_i.rewardCut << 192) | (_i.feeShare << 224)


@internal
@view
def _totals() -> (uint256, uint256):
    p: uint256 = self._packedTotals
    return p & MASK128, p >> 128


@internal
def _set_totals(_bonded: uint256, _nextActive: uint256):
    assert _bonded <= MASK128 and _nextActive <= MASK128, "total too large"
    self._packedTotals = _bonded | (_nextActive << 128)


@internal
@view
def _in_pool(_t: address) -> bool:
    return (self.transcoders[_t].info >> 144) & MASK48 == MAX_ROUND


@internal
@view
def _is_active(_t: address, _round: uint256) -> bool:
    i: Info = self._info(_t)
    return i.activationRound <= _round and _round < i.deactivationRound


@internal
@view
def _is_registered(_t: address) -> bool:
    bonded: uint256 = self.delegators[_t].packed & MASK128
    return bonded > 0 and self.delegators[_t].delegateAddress == _t


@internal
@view
def _status(_d: address, _round: uint256) -> uint256:
    bonded: uint256 = 0
    start: uint256 = 0
    last: uint256 = 0
    bonded, start, last = self._unpack(_d)
    if bonded == 0:
        return UNBONDED
    if start > _round:
        return PENDING
    return BONDED


@internal
@view
def _active_stake(_t: address, _round: uint256) -> uint256:
    p: uint256 = self.transcoders[_t].stake
    if _round >= p >> 192:
        return self.delegators[_t].delegatedAmount
    return p & MASK128


# ---------------------------------------------------------------- the sorted pool

@internal
@view
def _valid_position(_key: uint256, _prev: address, _next: address) -> bool:
    if _prev == empty(address) and _next == empty(address):
        return self.poolSize == 0
    if _prev == empty(address):
        return self.poolHead == _next and _key >= self.delegators[_next].delegatedAmount
    if _next == empty(address):
        return self.poolTail == _prev and _key <= self.delegators[_prev].delegatedAmount
    return self.poolNext[_prev] == _next and self.delegators[_prev].delegatedAmount >= _key and _key >= self.delegators[_next].delegatedAmount


@internal
@view
def _descend(_key: uint256, _start: address) -> (address, address):
    # from a node whose key >= _key, go down past every node with key >= _key
    cur: address = _start
    nxt: address = self.poolNext[cur]
    for i: uint256 in range(MAX_POOL):
        if nxt == empty(address) or self.delegators[nxt].delegatedAmount < _key:
            break
        cur = nxt
        nxt = self.poolNext[cur]
    return cur, nxt


@internal
@view
def _ascend(_key: uint256, _start: address) -> (address, address):
    # from a node whose key <= _key (or the tail), go up past every node with key < _key
    cur: address = _start
    prv: address = self.poolPrev[cur]
    for i: uint256 in range(MAX_POOL):
        if prv == empty(address) or self.delegators[prv].delegatedAmount >= _key:
            break
        cur = prv
        prv = self.poolPrev[cur]
    return prv, cur


@internal
@view
def _find_position(_t: address, _key: uint256, _prev: address, _next: address) -> (address, address):
    if _prev != _t and _next != _t and self._valid_position(_key, _prev, _next):
        return _prev, _next
    if self.poolSize == 0:
        return empty(address), empty(address)
    if _prev != empty(address) and _prev != _t and self._in_pool(_prev):
        if self.delegators[_prev].delegatedAmount >= _key:
            return self._descend(_key, _prev)
        return self._ascend(_key, _prev)
    if _next != empty(address) and _next != _t and self._in_pool(_next):
        if self.delegators[_next].delegatedAmount <= _key:
            return self._ascend(_key, _next)
        return self._descend(_key, _next)
    head: address = self.poolHead
    if self.delegators[head].delegatedAmount < _key:
        return empty(address), head
    return self._descend(_key, head)


@internal
def _pool_insert(_t: address, _key: uint256, _prevHint: address, _nextHint: address):
    prev: address = empty(address)
    nxt: address = empty(address)
    prev, nxt = self._find_position(_t, _key, _prevHint, _nextHint)
    self.poolPrev[_t] = prev
    self.poolNext[_t] = nxt
    if prev == empty(address):
        self.poolHead = _t
    else:
        self.poolNext[prev] = _t
    if nxt == empty(address):
        self.poolTail = _t
    else:
        self.poolPrev[nxt] = _t
    self.poolSize += 1


@internal
def _pool_remove(_t: address):
    prev: address = self.poolPrev[_t]
    nxt: address = self.poolNext[_t]
    if prev == empty(address):
        self.poolHead = nxt
    else:
        self.poolNext[prev] = nxt
    if nxt == empty(address):
        self.poolTail = prev
    else:
        self.poolPrev[nxt] = prev
    self.poolPrev[_t] = empty(address)
    self.poolNext[_t] = empty(address)
    self.poolSize -= 1


@internal
def _pool_reposition(_t: address, _key: uint256, _up: bool, _prevHint: address, _nextHint: address):
    """_key is already the node's delegatedAmount"""
    prev: address = self.poolPrev[_t]
    nxt: address = empty(address)
    if _up:
        # the key grew: it can only have passed its predecessor
        if prev == empty(address) or self.delegators[prev].delegatedAmount >= _key:
            return
        nxt = self.poolNext[_t]
    else:
        nxt = self.poolNext[_t]
        if nxt == empty(address) or _key >= self.delegators[nxt].delegatedAmount:
            return
    self._pool_remove(_t)
    if _prevHint == empty(address) and _nextHint == empty(address):
        self._pool_insert(_t, _key, prev, nxt)
    else:
        self._pool_insert(_t, _key, _prevHint, _nextHint)


# ---------------------------------------------------------------- stake bookkeeping

@internal
def _set_delegated(_t: address, _new: uint256, _round: uint256):
    """Change `_t`'s total stake from the next round on; the current round keeps its stake."""
    if (self.transcoders[_t].stake >> 192) <= _round:
        old: uint256 = self.delegators[_t].delegatedAmount
        assert old <= MASK128, "stake too large"
        self.transcoders[_t].stake = old | ((_round + 1) << 192)
    self.delegators[_t].delegatedAmount = _new


@internal
def _try_to_join(_t: address, _stake: uint256, _round: uint256, _prevHint: address, _nextHint: address):
    next_round: uint256 = _round + 1
    bonded: uint256 = 0
    active: uint256 = 0
    bonded, active = self._totals()
    if self.poolSize >= self.numActiveTranscoders:
        last: address = self.poolTail
        last_stake: uint256 = self.delegators[last].delegatedAmount
        if _stake <= last_stake:
            return
        self._pool_remove(last)
        li: Info = self._info(last)
        li.deactivationRound = next_round
        self._set_info(last, li)
        active -= last_stake
        log TranscoderDeactivated(transcoder=last, deactivationRound=next_round)
    self._pool_insert(_t, _stake, _prevHint, _nextHint)
    self._set_totals(bonded, active + _stake)
    i: Info = self._info(_t)
    # an orchestrator evicted earlier this round is still active in it
    if not (i.activationRound <= _round and i.deactivationRound == next_round):
        i.activationRound = next_round
    i.deactivationRound = MAX_ROUND
    self._set_info(_t, i)
    log TranscoderActivated(transcoder=_t, activationRound=next_round)


@internal
def _increase_total_stake(_t: address, _amount: uint256, _round: uint256, _prevHint: address, _nextHint: address):
    new_stake: uint256 = self.delegators[_t].delegatedAmount + _amount
    self._set_delegated(_t, new_stake, _round)
    bonded: uint256 = 0
    active: uint256 = 0
    bonded, active = self._totals()
    if self._in_pool(_t):
        self._pool_reposition(_t, new_stake, True, _prevHint, _nextHint)
        self._set_totals(bonded + _amount, active + _amount)
    else:
        self._set_totals(bonded + _amount, active)
        if self._is_registered(_t):
            self._try_to_join(_t, new_stake, _round, _prevHint, _nextHint)


@internal
def _decrease_total_stake(_t: address, _amount: uint256, _round: uint256, _prevHint: address, _nextHint: address):
    new_stake: uint256 = self.delegators[_t].delegatedAmount - _amount
    self._set_delegated(_t, new_stake, _round)
    bonded: uint256 = 0
    active: uint256 = 0
    bonded, active = self._totals()
    if self._in_pool(_t):
        self._pool_reposition(_t, new_stake, False, _prevHint, _nextHint)
        self._set_totals(bonded - _amount, active - _amount)
    else:
        self._set_totals(bonded - _amount, active)


@internal
def _resign(_t: address, _round: uint256):
    self._pool_remove(_t)
    bonded: uint256 = 0
    active: uint256 = 0
    bonded, active = self._totals()
    self._set_totals(bonded, active - self.delegators[_t].delegatedAmount)
    i: Info = self._info(_t)
    i.deactivationRound = _round + 1
    self._set_info(_t, i)
    log TranscoderDeactivated(transcoder=_t, deactivationRound=_round + 1)


# ---------------------------------------------------------------- earnings (LIP-36)

@internal
@view
def _latest_factors(_t: address, _round: uint256) -> (uint256, uint256):
    i: Info = self._info(_t)
    crf: uint256 = self.earningsPools[_t][_round].cumulativeRewardFactor
    if crf == 0 and i.lastRewardRound < _round:
        crf = self.earningsPools[_t][i.lastRewardRound].cumulativeRewardFactor
    cff: uint256 = self.earningsPools[_t][_round].cumulativeFeeFactor
    if cff == 0 and i.lastFeeRound < _round:
        cff = self.earningsPools[_t][i.lastFeeRound].cumulativeFeeFactor
    return crf, cff


@internal
@view
def _pending(_d: address, _round: uint256) -> (uint256, uint256):
    stake: uint256 = 0
    start: uint256 = 0
    last_claim: uint256 = 0
    stake, start, last_claim = self._unpack(_d)
    fees: uint256 = self.delegators[_d].fees
    t: address = self.delegators[_d].delegateAddress
    if t == empty(address):
        return stake, fees
    if last_claim < _round:
        start_crf: uint256 = self.earningsPools[t][last_claim].cumulativeRewardFactor
        start_cff: uint256 = self.earningsPools[t][last_claim].cumulativeFeeFactor
        if start_crf == 0:
            start_crf = PRECISE_PERC_DIVISOR
        end_crf: uint256 = 0
        end_cff: uint256 = 0
        end_crf, end_cff = self._latest_factors(t, _round)
        if end_crf == 0:
            end_crf = PRECISE_PERC_DIVISOR
        fees += self._precise_perc_of(stake, end_cff - start_cff, start_crf)
        stake = self._precise_perc_of(stake, end_crf, start_crf)
    if t == _d:
        stake += self.transcoders[t].rewards & MASK128
        fees += self.transcoders[t].cumulativeFees & MASK255
    return stake, fees


@internal
def _pin_factors(_t: address, _round: uint256):
    """Store `_t`'s latest factors for `_round` if none are stored: they are the start
    factors of a delegator whose last claim round is `_round`."""
    i: Info = self._info(_t)
    if self.earningsPools[_t][_round].cumulativeRewardFactor == 0 and i.lastRewardRound < _round:
        crf: uint256 = self.earningsPools[_t][i.lastRewardRound].cumulativeRewardFactor
        if crf != 0:
            self.earningsPools[_t][_round].cumulativeRewardFactor = crf
    if self.earningsPools[_t][_round].cumulativeFeeFactor == 0 and i.lastFeeRound < _round:
        cff: uint256 = self.earningsPools[_t][i.lastFeeRound].cumulativeFeeFactor
        if cff != 0:
            self.earningsPools[_t][_round].cumulativeFeeFactor = cff


@internal
def _claim(_d: address, _round: uint256):
    bonded: uint256 = 0
    start: uint256 = 0
    last_claim: uint256 = 0
    bonded, start, last_claim = self._unpack(_d)
    if _round <= last_claim:
        return
    old_fees: uint256 = self.delegators[_d].fees
    stake: uint256 = 0
    fees: uint256 = 0
    stake, fees = self._pending(_d, _round)
    t: address = self.delegators[_d].delegateAddress
    if t != empty(address):
        # the end factors are the start factors of the next claim
        self._pin_factors(t, _round)
        if t == _d:
            # keep activeCumulativeRewards: the next reward() replaces it
            self.transcoders[t].rewards = self.transcoders[t].rewards & (MASK128 << 128)
            self.transcoders[t].cumulativeFees = FLAG
    self._pack(_d, stake, start, _round)
    if fees != old_fees:
        self.delegators[_d].fees = fees
    if t != empty(address):
        log EarningsClaimed(delegate=t, delegator=_d, rewards=stake - bonded, fees=fees - old_fees, startRound=last_claim + 1, endRound=_round)


# ---------------------------------------------------------------- orchestrators

@external
def transcoder(_rewardCut: uint256, _feeShare: uint256):
    self._transcoder(_rewardCut, _feeShare, empty(address), empty(address))


@external
def transcoderWithHint(_rewardCut: uint256, _feeShare: uint256, _newPosPrev: address, _newPosNext: address):
    self._transcoder(_rewardCut, _feeShare, _newPosPrev, _newPosNext)


@internal
def _transcoder(_rewardCut: uint256, _feeShare: uint256, _prev: address, _next: address):
    self._require_initialized()
    assert not staticcall IRoundsManager(roundsManager).currentRoundLocked(), "can't update transcoder params, current round is locked"
    assert _rewardCut <= PERC_DIVISOR, "invalid rewardCut percentage"
    assert _feeShare <= PERC_DIVISOR, "invalid feeShare percentage"
    assert self._is_registered(msg.sender), "transcoder must be registered"
    cur: uint256 = self._round()
    i: Info = self._info(msg.sender)
    assert not (i.activationRound <= cur and cur < i.deactivationRound) or i.lastRewardRound == cur, "caller can't be active or must have already called reward for the current round"
    i.rewardCut = _rewardCut
    i.feeShare = _feeShare
    self._set_info(msg.sender, i)
    if self.transcoders[msg.sender].rewards == 0:
        self.transcoders[msg.sender].rewards = FLAG
    if self.transcoders[msg.sender].cumulativeFees == 0:
        self.transcoders[msg.sender].cumulativeFees = FLAG
    if not self._in_pool(msg.sender):
        self._try_to_join(msg.sender, self.delegators[msg.sender].delegatedAmount, cur, _prev, _next)
    log TranscoderUpdate(transcoder=msg.sender, rewardCut=_rewardCut, feeShare=_feeShare)


@external
def reward():
    self._reward(empty(address), empty(address))


@external
def rewardWithHint(_newPosPrev: address, _newPosNext: address):
    self._reward(_newPosPrev, _newPosNext)


@internal
def _reward(_prev: address, _next: address):
    self._require_initialized()
    cur: uint256 = self._round()
    t: address = msg.sender
    i: Info = self._info(t)
    assert i.activationRound <= cur and cur < i.deactivationRound, "caller must be an active transcoder"
    assert i.lastRewardRound != cur, "caller has already called reward for the current round"
    stake: uint256 = self._active_stake(t, cur)
    # activeCumulativeRewards := cumulativeRewards (its rewards earned before this round)
    active_cr: uint256 = self.transcoders[t].rewards & MASK128
    minted: uint256 = extcall IMinter(self.minter).createReward(stake, self.currentRoundTotalActiveStake)
    commission: uint256 = self._perc_of(minted, i.rewardCut)
    delegators_rewards: uint256 = minted - commission
    cr: uint256 = active_cr + self._precise_perc_of(delegators_rewards, active_cr, stake) + commission
    assert cr <= MASK127, "rewards too large"
    self.transcoders[t].rewards = cr | (active_cr << 128) | FLAG
    prev_crf: uint256 = self.earningsPools[t][i.lastRewardRound].cumulativeRewardFactor
    if prev_crf != 0 and i.lastRewardRound + 1 < cur:
        # a missed round: store the factor of round cur - 1, which fees credited later in
        # this round build on (the lastRewardRound fallback no longer reaches it)
        self.earningsPools[t][cur - 1].cumulativeRewardFactor = prev_crf
    if prev_crf == 0:
        prev_crf = PRECISE_PERC_DIVISOR
    self.earningsPools[t][cur].cumulativeRewardFactor = prev_crf + self._precise_perc_of(prev_crf, delegators_rewards, stake)
    i.lastRewardRound = cur
    self._set_info(t, i)
    self._increase_total_stake(t, minted, cur, _prev, _next)
    log Reward(transcoder=t, amount=minted)


@external
def updateTranscoderWithFees(_transcoder: address, _fees: uint256, _round: uint256):
    """
    @notice Credit `_fees` (already held by the TicketBroker) to `_transcoder`'s fee pool
            for the current round `_round`.  Only the TicketBroker.
    """
    assert msg.sender == self.ticketBroker, "caller must be the TicketBroker"
    t: address = _transcoder
    cur: uint256 = _round
    i: Info = self._info(t)
    rewards: uint256 = self.transcoders[t].rewards
    # before reward() this round, cumulativeRewards is what activeCumulativeRewards will be
    active_cr: uint256 = (rewards >> 128) & MASK127
    if cur > i.lastRewardRound:
        active_cr = rewards & MASK128
    stake: uint256 = self._active_stake(t, cur)
    assert stake > 0, "transcoder has no stake"
    delegators_fees: uint256 = self._perc_of(_fees, i.feeShare)
    commission: uint256 = _fees - delegators_fees
    fees: uint256 = (self.transcoders[t].cumulativeFees & MASK255) + self._precise_perc_of(delegators_fees, active_cr, stake) + commission
    assert fees <= MASK255, "fees too large"
    self.transcoders[t].cumulativeFees = fees | FLAG
    # latest factors at cur - 1
    prev_crf: uint256 = self.earningsPools[t][cur - 1].cumulativeRewardFactor
    if prev_crf == 0 and i.lastRewardRound < cur - 1:
        prev_crf = self.earningsPools[t][i.lastRewardRound].cumulativeRewardFactor
    if prev_crf == 0:
        prev_crf = PRECISE_PERC_DIVISOR
    cff: uint256 = self.earningsPools[t][cur].cumulativeFeeFactor
    if cff == 0:
        cff = self.earningsPools[t][cur - 1].cumulativeFeeFactor
        if cff == 0 and i.lastFeeRound < cur - 1:
            cff = self.earningsPools[t][i.lastFeeRound].cumulativeFeeFactor
    self.earningsPools[t][cur].cumulativeFeeFactor = cff + self._precise_perc_of(prev_crf, delegators_fees, stake)
    if i.lastFeeRound != cur:
        i.lastFeeRound = cur
        self._set_info(t, i)
    log FeesCredited(transcoder=t, fees=_fees, round=cur)


@external
def slashTranscoder(_transcoder: address, _finder: address, _slashAmount: uint256, _finderFee: uint256):
    assert msg.sender == self.verifier, "caller must be the verifier"
    self._require_initialized()
    assert _slashAmount <= PERC_DIVISOR, "invalid slashAmount percentage"
    assert _finderFee <= PERC_DIVISOR, "invalid finderFee percentage"
    cur: uint256 = self._round()
    self._claim(_transcoder, cur)
    bonded: uint256 = 0
    start: uint256 = 0
    last_claim: uint256 = 0
    bonded, start, last_claim = self._unpack(_transcoder)
    if bonded == 0:
        return
    penalty: uint256 = self._perc_of(bonded, _slashAmount)
    if self._in_pool(_transcoder):
        self._resign(_transcoder, cur)
    self._pack(_transcoder, bonded - penalty, start, last_claim)
    delegate: address = self.delegators[_transcoder].delegateAddress
    self._decrease_total_stake(delegate, penalty, cur, empty(address), empty(address))
    finder_amount: uint256 = 0
    if _finder != empty(address):
        finder_amount = self._perc_of(penalty, _finderFee)
        if finder_amount > 0:
            extcall IToken(token).transfer(_finder, finder_amount)
    if penalty > finder_amount:
        extcall IToken(token).burn(penalty - finder_amount)
    log TranscoderSlashed(transcoder=_transcoder, finder=_finder, penalty=penalty, finderReward=finder_amount)


# ---------------------------------------------------------------- delegators

@external
def bond(_amount: uint256, _to: address):
    self._bond(_amount, _to, empty(address), empty(address), empty(address), empty(address))


@external
def bondWithHint(_amount: uint256, _to: address, _oldDelegateNewPosPrev: address, _oldDelegateNewPosNext: address, _currDelegateNewPosPrev: address, _currDelegateNewPosNext: address):
    self._bond(_amount, _to, _oldDelegateNewPosPrev, _oldDelegateNewPosNext, _currDelegateNewPosPrev, _currDelegateNewPosNext)


@internal
def _bond(_amount: uint256, _to: address, _oldPrev: address, _oldNext: address, _newPrev: address, _newNext: address):
    self._require_initialized()
    assert _to != empty(address), "delegate is the zero address"
    cur: uint256 = self._round()
    d: address = msg.sender
    self._claim(d, cur)
    bonded: uint256 = 0
    start: uint256 = 0
    last_claim: uint256 = 0
    bonded, start, last_claim = self._unpack(d)
    current_delegate: address = self.delegators[d].delegateAddress
    amount: uint256 = _amount
    if bonded == 0:
        start = cur + 1
    elif current_delegate != _to:
        assert not self._is_registered(d), "registered transcoders can't delegate towards other addresses"
        start = cur + 1
        amount += bonded
        self._decrease_total_stake(current_delegate, bonded, cur, _oldPrev, _oldNext)
    assert amount > 0, "delegation amount must be greater than 0"
    self._pin_factors(_to, cur)
    if current_delegate != _to:
        self.delegators[d].delegateAddress = _to
    self._pack(d, bonded + _amount, start, cur)
    self._increase_total_stake(_to, amount, cur, _newPrev, _newNext)
    if _amount > 0:
        assert extcall IToken(token).transferFrom(d, self, _amount), "token transfer failed"
    log Bond(newDelegate=_to, oldDelegate=current_delegate, delegator=d, additionalAmount=_amount, bondedAmount=bonded + _amount)


@external
def unbond(_amount: uint256):
    self._unbond(_amount, empty(address), empty(address))


@external
def unbondWithHint(_amount: uint256, _newPosPrev: address, _newPosNext: address):
    self._unbond(_amount, _newPosPrev, _newPosNext)


@internal
def _unbond(_amount: uint256, _prev: address, _next: address):
    self._require_initialized()
    cur: uint256 = self._round()
    d: address = msg.sender
    self._claim(d, cur)
    assert self._status(d, cur) == BONDED, "caller must be bonded"
    assert _amount > 0, "unbond amount must be greater than 0"
    bonded: uint256 = 0
    start: uint256 = 0
    last_claim: uint256 = 0
    bonded, start, last_claim = self._unpack(d)
    assert _amount <= bonded, "amount is greater than bonded amount"
    delegate: address = self.delegators[d].delegateAddress
    withdraw_round: uint256 = cur + self.unbondingPeriod
    lock_id: uint256 = self.delegators[d].nextUnbondingLockId
    self.unbondingLocks[d][lock_id] = UnbondingLock(amount=_amount, withdrawRound=withdraw_round)
    self.delegators[d].nextUnbondingLockId = lock_id + 1
    bonded -= _amount
    if bonded == 0:
        self.delegators[d].delegateAddress = empty(address)
        start = 0
        if self._in_pool(d):
            self._resign(d, cur)
    self._pack(d, bonded, start, last_claim)
    self._decrease_total_stake(delegate, _amount, cur, _prev, _next)
    log Unbond(delegate=delegate, delegator=d, unbondingLockId=lock_id, amount=_amount, withdrawRound=withdraw_round)


@internal
def _process_rebond(_d: address, _lockId: uint256, _cur: uint256, _prev: address, _next: address):
    amount: uint256 = self.unbondingLocks[_d][_lockId].amount
    assert amount > 0, "invalid unbonding lock ID"
    self.unbondingLocks[_d][_lockId] = empty(UnbondingLock)
    bonded: uint256 = 0
    start: uint256 = 0
    last_claim: uint256 = 0
    bonded, start, last_claim = self._unpack(_d)
    self._pack(_d, bonded + amount, start, last_claim)
    delegate: address = self.delegators[_d].delegateAddress
    self._increase_total_stake(delegate, amount, _cur, _prev, _next)
    log Rebond(delegate=delegate, delegator=_d, unbondingLockId=_lockId, amount=amount)


@external
def rebond(_unbondingLockId: uint256):
    self._rebond(_unbondingLockId, empty(address), empty(address))


@external
def rebondWithHint(_unbondingLockId: uint256, _newPosPrev: address, _newPosNext: address):
    self._rebond(_unbondingLockId, _newPosPrev, _newPosNext)


@internal
def _rebond(_lockId: uint256, _prev: address, _next: address):
    self._require_initialized()
    cur: uint256 = self._round()
    self._claim(msg.sender, cur)
    assert self._status(msg.sender, cur) != UNBONDED, "caller must be bonded"
    self._process_rebond(msg.sender, _lockId, cur, _prev, _next)


@external
def rebondFromUnbonded(_to: address, _unbondingLockId: uint256):
    self._rebond_from_unbonded(_to, _unbondingLockId, empty(address), empty(address))


@external
def rebondFromUnbondedWithHint(_to: address, _unbondingLockId: uint256, _newPosPrev: address, _newPosNext: address):
    self._rebond_from_unbonded(_to, _unbondingLockId, _newPosPrev, _newPosNext)


@internal
def _rebond_from_unbonded(_to: address, _lockId: uint256, _prev: address, _next: address):
    self._require_initialized()
    assert _to != empty(address), "delegate is the zero address"
    cur: uint256 = self._round()
    self._claim(msg.sender, cur)
    assert self._status(msg.sender, cur) == UNBONDED, "caller must be unbonded"
    self._pack(msg.sender, 0, cur + 1, cur)
    self.delegators[msg.sender].delegateAddress = _to
    self._pin_factors(_to, cur)
    self._process_rebond(msg.sender, _lockId, cur, _prev, _next)


@external
def withdrawStake(_unbondingLockId: uint256):
    self._require_initialized()
    lock: UnbondingLock = self.unbondingLocks[msg.sender][_unbondingLockId]
    assert lock.amount > 0, "invalid unbonding lock ID"
    assert lock.withdrawRound <= self._round(), "withdraw round must be before or equal to the current round"
    self.unbondingLocks[msg.sender][_unbondingLockId] = empty(UnbondingLock)
    assert extcall IToken(token).transfer(msg.sender, lock.amount), "token transfer failed"
    log WithdrawStake(delegator=msg.sender, unbondingLockId=_unbondingLockId, amount=lock.amount, withdrawRound=lock.withdrawRound)


@external
def withdrawFees(_recipient: address, _amount: uint256):
    self._require_initialized()
    assert _recipient != empty(address), "recipient is the zero address"
    self._claim(msg.sender, self._round())
    fees: uint256 = self.delegators[msg.sender].fees
    assert fees >= _amount, "insufficient fees to withdraw"
    self.delegators[msg.sender].fees = fees - _amount
    broker: address = self.ticketBroker
    assert broker != empty(address), "TicketBroker not set"
    extcall ITicketBroker(broker).withdrawFeesTo(_recipient, _amount)
    log WithdrawFees(delegator=msg.sender, recipient=_recipient, amount=_amount)


@external
def claimEarnings(_endRound: uint256):
    """
    @notice Claim rewards and fees up to the current round (`_endRound` is kept for
            Livepeer's signature; as in Livepeer, claims always run to the current round).
    """
    self._require_initialized()
    self._claim(msg.sender, self._round())


# ---------------------------------------------------------------- rounds

@external
def setCurrentRoundTotalActiveStake():
    assert msg.sender == roundsManager, "caller must be the RoundsManager"
    # every change to the pool needs an initialized round, so the pool and its total
    # are exactly as the previous round left them
    cur: uint256 = self._round()
    bonded: uint256 = 0
    total: uint256 = 0
    bonded, total = self._totals()
    size: uint256 = self.poolSize
    self.currentRoundTotalActiveStake = total
    self.currentRoundActiveSetSize = size
    log SetCurrentRoundTotalActiveStake(round=cur, totalActiveStake=total, activeSetSize=size)


# ---------------------------------------------------------------- governor

@external
def setMinter(_minter: address):
    assert msg.sender == self.governor, "caller must be the governor"
    self.minter = _minter
    log SetContract(name="Minter", addr=_minter)


@external
def setTicketBroker(_ticketBroker: address):
    assert msg.sender == self.governor, "caller must be the governor"
    self.ticketBroker = _ticketBroker
    log SetContract(name="TicketBroker", addr=_ticketBroker)


@external
def setVerifier(_verifier: address):
    assert msg.sender == self.governor, "caller must be the governor"
    self.verifier = _verifier
    log SetContract(name="Verifier", addr=_verifier)


@external
def setUnbondingPeriod(_unbondingPeriod: uint256):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _unbondingPeriod > 0, "unbonding period cannot be 0"
    self.unbondingPeriod = _unbondingPeriod
    log ParameterUpdate(param="unbondingPeriod", value=_unbondingPeriod)


@external
def setNumActiveTranscoders(_numActiveTranscoders: uint256):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _numActiveTranscoders >= self.poolSize, "cannot be smaller than the current pool size"
    assert _numActiveTranscoders > 0 and _numActiveTranscoders <= MAX_POOL, "invalid numActiveTranscoders"
    self.numActiveTranscoders = _numActiveTranscoders
    log ParameterUpdate(param="numActiveTranscoders", value=_numActiveTranscoders)


# ---------------------------------------------------------------- views

@view
@external
def getTotalBonded() -> uint256:
    return self._packedTotals & MASK128


@view
@external
def nextRoundTotalActiveStake() -> uint256:
    return self._packedTotals >> 128


@view
@external
def transcoderTotalStake(_transcoder: address) -> uint256:
    return self.delegators[_transcoder].delegatedAmount


@view
@external
def transcoderActiveStake(_transcoder: address) -> uint256:
    """the stake that counts for `_transcoder` in the current round"""
    return self._active_stake(_transcoder, self._round())


@view
@external
def isActiveTranscoder(_transcoder: address) -> bool:
    return self._is_active(_transcoder, self._round())


@view
@external
def isRegisteredTranscoder(_transcoder: address) -> bool:
    return self._is_registered(_transcoder)


@view
@external
def transcoderStatus(_transcoder: address) -> uint256:
    """0 NotRegistered, 1 Registered"""
    if self._is_registered(_transcoder):
        return 1
    return 0


@view
@external
def delegatorStatus(_delegator: address) -> uint256:
    """0 Pending, 1 Bonded, 2 Unbonded"""
    return self._status(_delegator, self._round())


@view
@external
def pendingStake(_delegator: address, _endRound: uint256) -> uint256:
    stake: uint256 = 0
    fees: uint256 = 0
    stake, fees = self._pending(_delegator, self._round())
    return stake


@view
@external
def pendingFees(_delegator: address, _endRound: uint256) -> uint256:
    stake: uint256 = 0
    fees: uint256 = 0
    stake, fees = self._pending(_delegator, self._round())
    return fees


@view
@external
def getTranscoder(_transcoder: address) -> Transcoder:
    i: Info = self._info(_transcoder)
    slots: TranscoderSlots = self.transcoders[_transcoder]
    return Transcoder(
        lastRewardRound=i.lastRewardRound,
        rewardCut=i.rewardCut,
        feeShare=i.feeShare,
        lastActiveStakeUpdateRound=slots.stake >> 192,
        activationRound=i.activationRound,
        deactivationRound=max_value(uint256) if i.deactivationRound == MAX_ROUND else i.deactivationRound,
        activeCumulativeRewards=(slots.rewards >> 128) & MASK127,
        cumulativeRewards=slots.rewards & MASK128,
        cumulativeFees=slots.cumulativeFees & MASK255,
        lastFeeRound=i.lastFeeRound,
    )


@view
@external
def getDelegator(_delegator: address) -> (uint256, uint256, address, uint256, uint256, uint256, uint256):
    """(bondedAmount, fees, delegateAddress, delegatedAmount, startRound, lastClaimRound, nextUnbondingLockId)"""
    bonded: uint256 = 0
    start: uint256 = 0
    last_claim: uint256 = 0
    bonded, start, last_claim = self._unpack(_delegator)
    d: Delegator = self.delegators[_delegator]
    return bonded, d.fees, d.delegateAddress, d.delegatedAmount, start, last_claim, d.nextUnbondingLockId


@view
@external
def getDelegatorUnbondingLock(_delegator: address, _unbondingLockId: uint256) -> (uint256, uint256):
    lock: UnbondingLock = self.unbondingLocks[_delegator][_unbondingLockId]
    return lock.amount, lock.withdrawRound


@view
@external
def getTranscoderEarningsPoolForRound(_transcoder: address, _round: uint256) -> (uint256, uint256):
    """(cumulativeRewardFactor, cumulativeFeeFactor) stored for the round (0 when not stored)"""
    pool: EarningsPool = self.earningsPools[_transcoder][_round]
    return pool.cumulativeRewardFactor, pool.cumulativeFeeFactor


@view
@external
def getTranscoderPoolSize() -> uint256:
    return self.poolSize


@view
@external
def getTranscoderPoolMaxSize() -> uint256:
    return self.numActiveTranscoders


@view
@external
def getFirstTranscoderInPool() -> address:
    return self.poolHead


@view
@external
def getLastTranscoderInPool() -> address:
    return self.poolTail


@view
@external
def getNextTranscoderInPool(_transcoder: address) -> address:
    return self.poolNext[_transcoder]


@view
@external
def getPrevTranscoderInPool(_transcoder: address) -> address:
    return self.poolPrev[_transcoder]


@view
@external
def isInTranscoderPool(_transcoder: address) -> bool:
    return self._in_pool(_transcoder)


@external
def transferGovernor(_governor: address):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _governor != empty(address), "governor is the zero address"
    log GovernorTransferred(previous=self.governor, governor=_governor)
    self.governor = _governor
