# pragma version ~=0.4.3
"""
@title Probe
@notice A small contract for framemesh.chain's own tests: state, events, reverts
        with and without a reason, ETH, and a link to another deployed contract.
"""

event ValueSet:
    who: indexed(address)
    value: uint256

event PeerSet:
    peer: indexed(address)

owner: public(address)
value: public(uint256)
peer: public(address)
deposits: public(HashMap[address, uint256])


@deploy
def __init__(initial: uint256, peer: address):
    self.owner = msg.sender
    self.value = initial
    self.peer = peer


@external
def set_value(v: uint256):
    assert v != 13, "unlucky number"
    self.value = v
    log ValueSet(who=msg.sender, value=v)


@external
def set_peer(p: address):
    assert msg.sender == self.owner, "only the owner sets the peer"
    self.peer = p
    log PeerSet(peer=p)


@external
def fail_without_reason():
    raise


@external
@payable
def deposit():
    assert msg.value > 0, "nothing sent"
    self.deposits[msg.sender] += msg.value


@external
@view
def peer_value() -> uint256:
    return staticcall Probe(self.peer).value()


@external
@view
def current_block() -> uint256:
    return block.number


interface Probe:
    def value() -> uint256: view
