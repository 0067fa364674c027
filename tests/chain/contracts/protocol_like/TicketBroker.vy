# pragma version ~=0.4.3
bondingManager: public(address)
roundsManager: public(address)
unlockPeriod: public(uint256)
ticketValidityPeriod: public(uint256)


@deploy
def __init__(_bondingManager: address, _roundsManager: address, _unlockPeriod: uint256, _ticketValidityPeriod: uint256):
    self.bondingManager = _bondingManager
    self.roundsManager = _roundsManager
    self.unlockPeriod = _unlockPeriod
    self.ticketValidityPeriod = _ticketValidityPeriod
