# pragma version ~=0.4.3
token: public(address)
roundsManager: public(address)
bondingManager: public(address)
inflation: public(uint256)
inflationChange: public(uint256)
targetBondingRate: public(uint256)
controller: public(address)


@deploy
def __init__(_token: address, _roundsManager: address, _inflation: uint256, _inflationChange: uint256, _targetBondingRate: uint256, _controller: address):
    self.token = _token
    self.roundsManager = _roundsManager
    self.inflation = _inflation
    self.inflationChange = _inflationChange
    self.targetBondingRate = _targetBondingRate
    self.controller = _controller


@external
def setBondingManager(_bondingManager: address):
    assert msg.sender == self.controller, "only the controller"
    self.bondingManager = _bondingManager
