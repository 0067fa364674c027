# pragma version ~=0.4.3
token: public(address)
rounds_manager: public(address)
minter: public(address)
unbonding_period: public(uint256)
num_active_transcoders: public(uint256)


@deploy
def __init__(token: address, rounds_manager: address, minter: address, unbonding_period: uint256, num_active_transcoders: uint256):
    self.token = token
    self.rounds_manager = rounds_manager
    self.minter = minter
    self.unbonding_period = unbonding_period
    self.num_active_transcoders = num_active_transcoders
