"""The Python face of the protocol, on the embedded chain (web3 + py-evm)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from framemesh.chain.backend import Chain
from framemesh.chain.errors import ContractRevert
from framemesh.chain.keys import Signer
from framemesh.chain.protocol_deployment import ProtocolParams
from framemesh.payments.params import make_params
from framemesh.payments.sender import TicketSender
from framemesh.payments.ticket import is_winning, win_prob_for
from framemesh.protocol.network import Protocol

FMT = 10**18
ETH = 10**18


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    chain = Chain.embedded()
    deployer = chain.accounts[0]
    proto = Protocol.deploy(chain, ProtocolParams(round_length=10), sender=deployer)
    orch = Signer.from_key(b"\x31" * 32)
    gateway = Signer.from_key(b"\x32" * 32)
    for who in (orch, gateway):
        chain.send_eth(who.address, 10 * ETH, deployer)
    proto.transfer_tokens(deployer, orch.address, 1000 * FMT)
    proto.advance_rounds(deployer)
    proto.become_orchestrator(orch, stake=1000 * FMT, reward_cut=100_000, fee_share=500_000, service_uri="https://orch.example:8935")
    proto.advance_rounds(deployer)
    return chain, deployer, proto, orch, gateway


def test_registered_orchestrator_is_active_next_round(world) -> None:  # type: ignore[no-untyped-def]
    chain, deployer, proto, orch, _ = world
    assert proto.is_registered(orch.address) and proto.is_active(orch.address)
    assert proto.active_set() == [orch.address]
    assert proto.total_stake(orch.address) == 1000 * FMT
    assert proto.service_uri(orch.address) == "https://orch.example:8935"
    status = proto.status()
    assert status.round_initialized and status.total_bonded == 1000 * FMT
    assert status.orchestrators[0].reward_cut == 100_000 and status.orchestrators[0].fee_share == 500_000


def test_reward_mints_and_grows_stake(world) -> None:  # type: ignore[no-untyped-def]
    chain, deployer, proto, orch, _ = world
    supply = proto.total_supply()
    mintable = proto.current_mintable()
    assert mintable > 0
    proto.reward(orch)
    assert proto.total_supply() == supply + mintable  # the only active orchestrator gets it all
    assert proto.pending_stake(orch.address) == 1000 * FMT + mintable
    with pytest.raises(ContractRevert):
        proto.reward(orch)  # once per round


def test_winning_ticket_is_redeemed_into_the_fee_pool(world) -> None:  # type: ignore[no-untyped-def]
    chain, deployer, proto, orch, gateway = world
    proto.fund_deposit_and_reserve(gateway, 2 * ETH, 1 * ETH)
    info = proto.sender_info(gateway.address)
    assert info.deposit == 2 * ETH and info.reserve == 1 * ETH
    round_ = proto.current_round()
    params = make_params(
        b"secret" * 6, recipient=orch.address, sender=gateway.address, seed=b"s" * 32, face_value=ETH // 10,
        win_prob=win_prob_for(Fraction(1)), expiration_block=chain.block_number + 100, creation_round=round_,
        creation_round_block_hash=proto.block_hash_for_round(round_),
    )
    from framemesh.payments.params import derive_recipient_rand

    rand = derive_recipient_rand(
        b"secret" * 6, seed=params.seed, sender=gateway.address, face_value=params.face_value,
        win_prob=params.win_prob, expiration_block=params.expiration_block, creation_round=round_,
    )
    payment = TicketSender(gateway).pay(params, ETH // 10)
    (signed,) = payment.tickets
    assert is_winning(signed.signature, rand, signed.ticket.win_prob)
    fees_before = proto.pending_fees(orch.address)
    proto.redeem_winning_ticket(orch, signed.ticket, signed.signature, rand)
    assert proto.is_ticket_used(signed.ticket.hash())
    assert proto.sender_info(gateway.address).deposit == 2 * ETH - ETH // 10
    assert proto.pending_fees(orch.address) == fees_before + ETH // 10  # self-delegated: every share is its own
    with pytest.raises(ContractRevert, match="used"):
        proto.redeem_winning_ticket(orch, signed.ticket, signed.signature, rand)
