# pragma version ~=0.4.3
"""
@title Minter
@notice Inflation per round and the minting of rewards, Livepeer's rules.  Rates are
        over 1e9 (`inflation`, `inflationChange`, `targetBondingRate`).  At each
        `initializeRound` the inflation moves one `inflationChange` step toward the
        target bonding rate (up when total bonded / total supply is below it, down when
        above, never below zero), then the round's mintable tokens are fixed:
        total supply * inflation / 1e9.  `createReward(stake, totalActiveStake)` mints
        mintable * (stake * 1e9 / totalActiveStake) / 1e9 to the BondingManager, never
        more than the round's mintable in total.

        The tokens minted this round are kept as a running total minus its value at the
        start of the round, so the first reward of a round does not pay for a fresh
        storage slot.
"""

interface IToken:
    def totalSupply() -> uint256: view
    def mint(_to: address, _amount: uint256) -> bool: nonpayable

interface IBondingManager:
    def getTotalBonded() -> uint256: view

PERC_DIVISOR: constant(uint256) = 10**9

event SetCurrentRewardTokens:
    currentMintableTokens: uint256
    currentInflation: uint256

event Minted:
    amount: uint256

event GovernorTransferred:
    previous: indexed(address)
    governor: indexed(address)

event ParameterUpdate:
    param: String[32]
    value: uint256

token: public(immutable(address))
bondingManager: public(immutable(address))
roundsManager: public(immutable(address))
governor: public(address)
inflation: public(uint256)
inflationChange: public(uint256)
targetBondingRate: public(uint256)
currentMintableTokens: public(uint256)
mintedTotal: public(uint256)
_mintedAtRoundStart: uint256


@deploy
def __init__(_token: address, _bondingManager: address, _roundsManager: address, _inflation: uint256, _inflationChange: uint256, _targetBondingRate: uint256):
    assert _inflation <= PERC_DIVISOR, "inflation must be a valid percentage"
    assert _inflationChange <= PERC_DIVISOR, "inflationChange must be a valid percentage"
    assert _targetBondingRate <= PERC_DIVISOR, "targetBondingRate must be a valid percentage"
    token = _token
    bondingManager = _bondingManager
    roundsManager = _roundsManager
    self.governor = msg.sender
    self.inflation = _inflation
    self.inflationChange = _inflationChange
    self.targetBondingRate = _targetBondingRate


@view
@external
def currentMintedTokens() -> uint256:
    return self.mintedTotal - self._mintedAtRoundStart


@view
@external
def currentBondingRate() -> uint256:
    supply: uint256 = staticcall IToken(token).totalSupply()
    if supply == 0:
        return 0
    return (staticcall IBondingManager(bondingManager).getTotalBonded()) * PERC_DIVISOR // supply


@external
def setCurrentRewardTokens():
    assert msg.sender == roundsManager, "caller must be the RoundsManager"
    supply: uint256 = staticcall IToken(token).totalSupply()
    rate: uint256 = 0
    if supply > 0:
        rate = (staticcall IBondingManager(bondingManager).getTotalBonded()) * PERC_DIVISOR // supply
    current: uint256 = self.inflation
    change: uint256 = self.inflationChange
    target: uint256 = self.targetBondingRate
    if rate < target:
        current += change
    elif rate > target:
        if change > current:
            current = 0
        else:
            current -= change
    self.inflation = current
    mintable: uint256 = supply * current // PERC_DIVISOR
    self.currentMintableTokens = mintable
    self._mintedAtRoundStart = self.mintedTotal
    log SetCurrentRewardTokens(currentMintableTokens=mintable, currentInflation=current)


@external
def createReward(_fracNum: uint256, _fracDenom: uint256) -> uint256:
    assert msg.sender == bondingManager, "caller must be the BondingManager"
    assert _fracDenom > 0, "no active stake this round"
    mintable: uint256 = self.currentMintableTokens
    amount: uint256 = mintable * (_fracNum * PERC_DIVISOR // _fracDenom) // PERC_DIVISOR
    minted: uint256 = self.mintedTotal + amount
    assert minted - self._mintedAtRoundStart <= mintable, "minted tokens cannot exceed mintable tokens"
    self.mintedTotal = minted
    if amount > 0:
        extcall IToken(token).mint(bondingManager, amount)
    log Minted(amount=amount)
    return amount


@external
def setTargetBondingRate(_targetBondingRate: uint256):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _targetBondingRate <= PERC_DIVISOR, "targetBondingRate must be a valid percentage"
    self.targetBondingRate = _targetBondingRate
    log ParameterUpdate(param="targetBondingRate", value=_targetBondingRate)


@external
def setInflationChange(_inflationChange: uint256):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _inflationChange <= PERC_DIVISOR, "inflationChange must be a valid percentage"
    self.inflationChange = _inflationChange
    log ParameterUpdate(param="inflationChange", value=_inflationChange)


@external
def transferGovernor(_governor: address):
    assert msg.sender == self.governor, "caller must be the governor"
    assert _governor != empty(address), "governor is the zero address"
    log GovernorTransferred(previous=self.governor, governor=_governor)
    self.governor = _governor
