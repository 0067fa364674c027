# pragma version ~=0.4.3
roundLength: public(uint256)
roundLockAmount: public(uint256)


@deploy
def __init__(_roundLength: uint256, _roundLockAmount: uint256):
    assert _roundLength > 0, "round length must be positive"
    self.roundLength = _roundLength
    self.roundLockAmount = _roundLockAmount
