import boa

from .conftest import Protocol


def test_round_trip(proto: Protocol, accounts: list[str]) -> None:
    o, d = accounts[0], accounts[1]
    proto.register(o, 1000 * 10**18)
    proto.bond(d, 500 * 10**18, o)
    assert proto.bonding.transcoderTotalStake(o) == 1500 * 10**18
    proto.next_round()
    assert proto.bonding.isActiveTranscoder(o)
    with boa.env.prank(o):
        proto.bonding.reward()
    print("reward gas", proto.bonding._computation.get_gas_used())
    proto.next_round()
    print(proto.bonding.pendingStake(d, 0), proto.bonding.pendingStake(o, 0))
