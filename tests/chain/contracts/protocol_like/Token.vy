# pragma version ~=0.4.3
# Protocol-shaped stand-in (not the real protocol): tests deploy_protocol's wiring.
name: public(String[32])
symbol: public(String[8])
owner: public(address)
minter: public(address)
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])


@deploy
def __init__(_name: String[32], _symbol: String[8], initial_supply: uint256):
    self.name = _name
    self.symbol = _symbol
    self.owner = msg.sender
    self.totalSupply = initial_supply
    self.balanceOf[msg.sender] = initial_supply


@external
def setMinter(_minter: address):
    assert msg.sender == self.owner, "only the owner sets the minter"
    assert self.minter == empty(address), "minter already set"
    self.minter = _minter
