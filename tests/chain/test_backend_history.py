"""Conformance: what an indexer reads (logs of many contracts at once, block headers,
transaction senders, state at a past block), on every backend."""

from __future__ import annotations

import pytest

from framemesh.chain.backend import Chain
from framemesh.chain.compile import Artifact
from framemesh.chain.errors import ChainError
from framemesh.chain.keys import Signer

from .conftest import ZERO


def test_logs_of_several_contracts_in_a_block_range(chain: Chain, probe_artifact: Artifact, deployer: Signer) -> None:
    one = chain.deploy(probe_artifact, 1, ZERO, sender=deployer)
    two = chain.deploy(probe_artifact, 2, ZERO, sender=deployer)
    other = chain.accounts[1]
    first = chain.transact(one.functions.set_value(10), deployer)
    chain.transact(two.functions.set_value(20), other)
    chain.transact(two.functions.set_peer(one.address), deployer)
    last = chain.transact(one.functions.set_value(30), other)
    logs = chain.logs([one.address, two.address], first.block_number, last.block_number)
    assert [(log["address"], int(log["blockNumber"])) for log in logs] == [
        (one.address, first.block_number), (two.address, first.block_number + 1),
        (two.address, first.block_number + 2), (one.address, last.block_number),
    ]
    assert [log["address"] for log in chain.logs([two.address], first.block_number, last.block_number)] == [two.address] * 2
    assert chain.logs([one.address, two.address], first.block_number - 1, first.block_number - 1) == []  # the deploy block
    assert chain.transaction_sender(last.tx_hash) == other.address
    assert chain.transaction_sender(first.tx_hash) == deployer.address


def test_block_headers(chain: Chain, probe_artifact: Artifact, deployer: Signer) -> None:
    probe = chain.deploy(probe_artifact, 1, ZERO, sender=deployer)
    receipt = chain.transact(probe.functions.set_value(5), deployer)
    header = chain.block_header(receipt.block_number)
    assert header.number == receipt.block_number and header.hash.startswith("0x") and len(header.hash) == 66
    assert header.hash == "0x" + bytes(receipt.raw["blockHash"]).hex()
    assert chain.block_header("latest").number == chain.block_number
    assert chain.block_header(receipt.block_number - 1).timestamp <= header.timestamp
    assert chain.call(probe.functions.value(), block=receipt.block_number - 1) == 1  # state at a past block
    with pytest.raises(ChainError):
        chain.block_header(chain.block_number + 1000)
