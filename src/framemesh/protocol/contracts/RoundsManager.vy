# pragma version ~=0.4.3
"""
@title RoundsManager
@notice Rounds of `roundLength` blocks.  `initializeRound()` is called once per round by
        anyone: it records the round's block hash (used in ticket auxData), fixes the
        round's total active stake in the BondingManager and the round's mintable
        tokens in the Minter.  The last `roundLockAmount` (over 1e6) of a round is
        locked: orchestrators can't change their terms then.

        `roundLength`, the round and start block of the last round-length change are
        packed into one storage slot (64 bits each) so that `currentRound()` costs one
        SLOAD on every hot path.
"""

interface IBondingManager:
    def setCurrentRoundTotalActiveStake(): nonpayable

interface IMinter:
    def setCurrentRewardTokens(): nonpayable

PERC_DIVISOR: constant(uint256) = 10**6
MASK64: constant(uint256) = 2**64 - 1

event NewRound:
    round: indexed(uint256)
    blockHash: bytes32

event GovernorTransferred:
    previous: indexed(address)
    governor: indexed(address)

event ParameterUpdate:
    param: String[32]
    value: uint256

event SetContract:
    name: String[32]
    addr: address

governor: public(address)
bondingManager: public(address)
minter: public(address)
roundLockAmount: public(uint256)
nextRoundLength: public(uint256)
lastInitializedRound: public(uint256)
# roundLength | lastRoundLengthUpdateRound << 64 | lastRoundLengthUpdateStartBlock << 128
_params: uint256
_blockHashForRound: HashMap[uint256, bytes32]


@deploy
def __init__(_roundLength: uint256, _roundLockAmount: uint256):
    assert _roundLength > 0, "round length cannot be 0"
    assert _roundLength <= MASK64, "round length too large"
    assert _roundLockAmount <= PERC_DIVISOR, "round lock amount must be a valid percentage"
    self.governor = msg.sender
    self._params = _roundLength
    self.roundLockAmount = _roundLockAmount


@internal
@view
def _unpack() -> (uint256, uint256, uint256):
    p: uint256 = self._params
    return p & MASK64, (p >> 64) & MASK64, p >> 128


@internal
@view
def _current_round() -> uint256:
    length: uint256 = 0
    update_round: uint256 = 0
    update_block: uint256 = 0
    length, update_round, update_block = self._unpack()
    return update_round + (block.number - update_block) // length


@internal
@view
def _current_round_start_block() -> uint256:
    length: uint256 = 0
    update_round: uint256 = 0
    update_block: uint256 = 0
    length, update_round, update_block = self._unpack()
    return update_block + (self._current_round() - update_round) * length


@view
@external
def roundLength() -> uint256:
    return self._params & MASK64


@view
@external
def lastRoundLengthUpdateRound() -> uint256:
    return (self._params >> 64) & MASK64


@view
@external
def lastRoundLengthUpdateStartBlock() -> uint256:
    return self._params >> 128


@view
@external
def currentRound() -> uint256:
    return self._current_round()


@view
@external
def currentRoundStartBlock() -> uint256:
    return self._current_round_start_block()


@view
@external
def currentRoundInitialized() -> bool:
    return self.lastInitializedRound == self._current_round()


@view
@external
def currentRoundLocked() -> bool:
    length: uint256 = self._params & MASK64
    lock_blocks: uint256 = length * self.roundLockAmount // PERC_DIVISOR
    return block.number - self._current_round_start_block() >= length - lock_blocks


@view
@external
def blockNum() -> uint256:
    return block.number


@view
@external
def blockHash(_block: uint256) -> bytes32:
    assert _block < block.number, "can only retrieve past block hashes"
    assert block.number - _block <= 256, "can only retrieve hashes for last 256 blocks"
    return blockhash(_block)


@view
@external
def blockHashForRound(_round: uint256) -> bytes32:
    return self._blockHashForRound[_round]


@external
def initializeRound():
    current: uint256 = self._current_round()
    assert self.lastInitializedRound < current, "round already initialized"
    self.lastInitializedRound = current
    h: bytes32 = blockhash(block.number - 1)
    self._blockHashForRound[current] = h
    pending: uint256 = self.nextRoundLength
    if pending > 0:
        start: uint256 = self._current_round_start_block()
        self._params = pending | (current << 64) | (start << 128)
        self.nextRoundLength = 0
    bonding: address = self.bondingManager
    minter: address = self.minter
    assert bonding != empty(address) and minter != empty(address), "BondingManager and Minter must be set"
    extcall IBondingManager(bonding).setCurrentRoundTotalActiveStake()
    extcall IMinter(minter).setCurrentRewardTokens()
    log NewRound(round=current, blockHash=h)


@external
def setRoundLength(_roundLength: uint256):
    """
    @notice The new length applies from the next initialized round.
    """
    assert msg.sender == self.governor, "caller must be the governor"
    assert _roundLength > 0, "round length cannot be 0"
    assert _roundLength <= MASK64, "round length too large"
    self.nextRoundLength = _roundLength
    log ParameterUpdate(param="roundLength", value=_roundLength)


@external
def setRoundLockAmount(_roundLockAmount: uint256):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _roundLockAmount <= PERC_DIVISOR, "round lock amount must be a valid percentage"
    self.roundLockAmount = _roundLockAmount
    log ParameterUpdate(param="roundLockAmount", value=_roundLockAmount)


@external
def setBondingManager(_bondingManager: address):
    assert msg.sender == self.governor, "caller must be the governor"
    self.bondingManager = _bondingManager
    log SetContract(name="BondingManager", addr=_bondingManager)


@external
def setMinter(_minter: address):
    assert msg.sender == self.governor, "caller must be the governor"
    self.minter = _minter
    log SetContract(name="Minter", addr=_minter)


@external
def transferGovernor(_governor: address):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _governor != empty(address), "governor is the zero address"
    log GovernorTransferred(previous=self.governor, governor=_governor)
    self.governor = _governor
