# pragma version ~=0.4.3
"""
@title Token
@notice The framemesh staking token: an ERC-20 with 18 decimals.  Only the Minter
        mints; any holder may burn its own tokens (the BondingManager burns slashed
        stake).  The owner (the deployer) names the Minter.
"""

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event SetMinter:
    minter: indexed(address)

event OwnershipTransferred:
    previousOwner: indexed(address)
    newOwner: indexed(address)

name: public(String[64])
symbol: public(String[32])
decimals: public(uint8)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
owner: public(address)
minter: public(address)


@deploy
def __init__(_name: String[64], _symbol: String[32], _decimals: uint8, _initialSupply: uint256):
    self.name = _name
    self.symbol = _symbol
    self.decimals = _decimals
    self.owner = msg.sender
    if _initialSupply > 0:
        self.balanceOf[msg.sender] = _initialSupply
        self.totalSupply = _initialSupply
        log Transfer(sender=empty(address), receiver=msg.sender, value=_initialSupply)


@external
def setMinter(_minter: address):
    assert msg.sender == self.owner, "caller must be the owner"
    self.minter = _minter
    log SetMinter(minter=_minter)


@internal
def _transfer(_from: address, _to: address, _value: uint256):
    assert _to != empty(address), "transfer to the zero address"
    balance: uint256 = self.balanceOf[_from]
    assert balance >= _value, "insufficient balance"
    self.balanceOf[_from] = balance - _value
    self.balanceOf[_to] += _value
    log Transfer(sender=_from, receiver=_to, value=_value)


@external
def transfer(_to: address, _value: uint256) -> bool:
    self._transfer(msg.sender, _to, _value)
    return True


@external
def transferFrom(_from: address, _to: address, _value: uint256) -> bool:
    allowed: uint256 = self.allowance[_from][msg.sender]
    if allowed != max_value(uint256):
        assert allowed >= _value, "insufficient allowance"
        self.allowance[_from][msg.sender] = allowed - _value
    self._transfer(_from, _to, _value)
    return True


@external
def approve(_spender: address, _value: uint256) -> bool:
    self.allowance[msg.sender][_spender] = _value
    log Approval(owner=msg.sender, spender=_spender, value=_value)
    return True


@external
def mint(_to: address, _amount: uint256) -> bool:
    assert msg.sender == self.minter, "caller must be the Minter"
    assert _to != empty(address), "mint to the zero address"
    self.totalSupply += _amount
    self.balanceOf[_to] += _amount
    log Transfer(sender=empty(address), receiver=_to, value=_amount)
    return True


@external
def burn(_amount: uint256):
    balance: uint256 = self.balanceOf[msg.sender]
    assert balance >= _amount, "burn amount exceeds balance"
    self.balanceOf[msg.sender] = balance - _amount
    self.totalSupply -= _amount
    log Transfer(sender=msg.sender, receiver=empty(address), value=_amount)


@external
def transferOwnership(_owner: address):
    assert msg.sender == self.owner, "caller must be the owner"
    assert _owner != empty(address), "owner is the zero address"
    log OwnershipTransferred(previousOwner=self.owner, newOwner=_owner)
    self.owner = _owner
