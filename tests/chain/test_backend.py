"""Conformance suite: the same tests on the embedded chain (in process, and served
over JSON-RPC by `framemesh chain serve`) and on anvil."""

from __future__ import annotations

import threading

import pytest

from framemesh.chain.backend import Chain
from framemesh.chain.compile import Artifact
from framemesh.chain.errors import ChainError, ContractRevert
from framemesh.chain.keys import EMBEDDED_CHAIN_ID, Signer, create_keystore, load_keystore

from .conftest import ZERO


@pytest.fixture
def probe(chain: Chain, probe_artifact: Artifact, deployer: Signer):
    return chain.deploy(probe_artifact, 7, ZERO, sender=deployer)


def test_chain_identity(chain: Chain, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params["chain"]
    assert chain.is_dev
    assert chain.chain_id == (31337 if backend == "anvil" else EMBEDDED_CHAIN_ID)
    assert Chain.embedded().chain_id == EMBEDDED_CHAIN_ID
    assert (chain.url == "embedded") == (backend == "embedded")
    assert str(chain.chain_id) in repr(chain)


def test_dev_accounts_are_funded(chain: Chain) -> None:
    accounts = chain.accounts
    assert len(accounts) >= 2
    assert len({a.address for a in accounts}) == len(accounts)
    assert all(not a.is_local for a in accounts)
    assert all(chain.balance(a) >= 10**21 for a in accounts)


def test_deploy_call_and_transact(chain: Chain, probe, deployer: Signer) -> None:
    assert chain.has_code(probe.address)
    assert chain.call(probe.functions.value()) == 7
    assert chain.call(probe.functions.owner()) == deployer.address
    receipt = chain.transact(probe.functions.set_value(42), deployer)
    assert receipt.gas_used > 21_000
    assert receipt.block_number == chain.block_number
    assert receipt.tx_hash.startswith("0x") and len(receipt.tx_hash) == 66
    assert chain.call(probe.functions.value()) == 42
    # reading an earlier block sees the earlier state
    assert chain.call(probe.functions.value(), block=receipt.block_number - 1) == 7


def test_contract_by_name_and_by_address(chain: Chain, probe, probe_artifact: Artifact, deployer: Signer) -> None:
    assert chain.contract("Probe").address == probe.address
    same = chain.contract(probe.address, probe_artifact.abi)
    chain.transact(same.functions.set_value(3), deployer)
    assert chain.call(chain.contract("Probe").functions.value()) == 3
    with pytest.raises(ChainError, match="no contract named 'Nope'.*Probe"):
        chain.contract("Nope")
    assert not chain.has_code(ZERO)


def test_event_logs(chain: Chain, probe, deployer: Signer) -> None:
    other = chain.accounts[1]
    first = chain.transact(probe.functions.set_value(1), deployer)
    chain.transact(probe.functions.set_value(2), other)
    chain.transact(probe.functions.set_value(3), deployer)
    (event,) = first.events(probe.events.ValueSet)
    assert event["args"]["who"] == deployer.address and event["args"]["value"] == 1
    assert first.events(probe.events.PeerSet) == []
    every = chain.events(probe.events.ValueSet)
    assert [e["args"]["value"] for e in every] == [1, 2, 3]
    mine = chain.events(probe.events.ValueSet, who=deployer.address)
    assert [e["args"]["value"] for e in mine] == [1, 3]
    later = chain.events(probe.events.ValueSet, from_block=first.block_number + 1)
    assert [e["args"]["value"] for e in later] == [2, 3]


def test_revert_reason_on_transact(chain: Chain, probe, deployer: Signer) -> None:
    with pytest.raises(ContractRevert) as info:
        chain.transact(probe.functions.set_value(13), deployer)
    assert info.value.reason == "unlucky number"
    assert "unlucky number" in str(info.value)
    assert chain.call(probe.functions.value()) == 7


def test_revert_reason_on_call(chain: Chain, probe) -> None:
    with pytest.raises(ContractRevert) as info:
        chain.call(probe.functions.set_value(13))
    assert info.value.reason == "unlucky number"


def test_revert_reason_from_access_check(chain: Chain, probe) -> None:
    stranger = chain.accounts[2]
    with pytest.raises(ContractRevert, match="only the owner sets the peer") as info:
        chain.transact(probe.functions.set_peer(stranger.address), stranger)
    assert info.value.reason == "only the owner sets the peer"


def test_revert_without_reason(chain: Chain, probe, deployer: Signer) -> None:
    with pytest.raises(ContractRevert) as info:
        chain.transact(probe.functions.fail_without_reason(), deployer)
    assert info.value.reason == ""
    assert "without a reason" in str(info.value)


def test_revert_of_a_mined_transaction(chain: Chain, probe, deployer: Signer) -> None:
    """With an explicit gas limit nothing is estimated: the transaction is mined,
    fails (status 0), and the reason is recovered by replaying it."""
    before = chain.block_number
    with pytest.raises(ContractRevert) as info:
        chain.transact(probe.functions.set_value(13), deployer, gas=200_000)
    assert info.value.reason == "unlucky number"
    assert info.value.tx_hash is not None
    assert chain.block_number == before + 1  # it really was mined


def test_payable_and_balances(chain: Chain, probe, deployer: Signer) -> None:
    chain.transact(probe.functions.deposit(), deployer, value=12345)
    assert chain.balance(probe.address) == 12345
    assert chain.call(probe.functions.deposits(deployer.address)) == 12345
    with pytest.raises(ContractRevert, match="nothing sent"):
        chain.transact(probe.functions.deposit(), deployer)


def test_send_eth(chain: Chain, deployer: Signer) -> None:
    to = Signer.from_key(b"\x11" * 32)
    before = chain.balance(to)
    receipt = chain.send_eth(to, 5 * 10**17, deployer)
    assert receipt.gas_used == 21_000
    assert chain.balance(to) - before == 5 * 10**17


def test_insufficient_funds_is_a_chain_error(chain: Chain, funded_key: Signer, deployer: Signer) -> None:
    with pytest.raises(ChainError) as info:
        chain.send_eth(deployer, 10**30, funded_key)
    assert not isinstance(info.value, ContractRevert)
    assert "fund" in str(info.value).lower() or "balance" in str(info.value).lower()


def test_local_signing(chain: Chain, probe, funded_key: Signer) -> None:
    assert funded_key.is_local
    receipt = chain.transact(probe.functions.set_value(99), funded_key)
    tx = chain.w3.eth.get_transaction(receipt.tx_hash)
    assert tx["from"] == funded_key.address
    (event,) = receipt.events(probe.events.ValueSet)
    assert event["args"]["who"] == funded_key.address
    assert chain.call(probe.functions.value()) == 99
    # a second transaction gets the next nonce
    chain.transact(probe.functions.set_value(100), funded_key)
    assert chain.w3.eth.get_transaction_count(funded_key.address) == 2


def test_keystore_account_sends_transactions(chain: Chain, probe, deployer: Signer, tmp_path) -> None:
    """A key created into an encrypted keystore, loaded back, and used to sign."""
    path = tmp_path / "gateway.json"
    created = create_keystore(path, "pw", kdf="pbkdf2", iterations=2)
    signer = load_keystore(path, "pw")
    assert signer == created and signer.is_local
    chain.send_eth(signer, 10**18, deployer)
    receipt = chain.transact(probe.functions.set_value(77), signer)
    assert chain.w3.eth.get_transaction(receipt.tx_hash)["from"] == signer.address
    assert chain.call(probe.functions.value()) == 77
    assert (
        chain.balance(signer)
        == 10**18 - receipt.gas_used * chain.w3.eth.get_transaction_receipt(receipt.tx_hash)["effectiveGasPrice"]
    )


def test_local_signer_deploys_and_reverts(chain: Chain, probe_artifact: Artifact, funded_key: Signer) -> None:
    own = chain.deploy(probe_artifact, 1, ZERO, sender=funded_key)
    assert chain.call(own.functions.owner()) == funded_key.address
    with pytest.raises(ContractRevert) as info:
        chain.transact(own.functions.set_value(13), funded_key)
    assert info.value.reason == "unlucky number"
    with pytest.raises(ContractRevert) as info:
        chain.transact(own.functions.set_value(13), funded_key, gas=200_000)
    assert info.value.reason == "unlucky number" and info.value.tx_hash


def test_mine_advances_blocks(chain: Chain, probe) -> None:
    start = chain.block_number
    assert chain.mine(5) == start + 5
    assert chain.block_number == start + 5
    assert chain.call(probe.functions.current_block()) in (start + 5, start + 6)
    assert chain.mine() == start + 6
    assert chain.mine(0) == start + 6
    with pytest.raises(ValueError):
        chain.mine(-1)


def test_snapshot_and_revert(chain: Chain, probe, deployer: Signer) -> None:
    snap = chain.snapshot()
    block = chain.block_number
    chain.transact(probe.functions.set_value(1), deployer)
    chain.mine(3)
    assert chain.call(probe.functions.value()) == 1
    chain.revert(snap)
    assert chain.block_number == block
    assert chain.call(probe.functions.value()) == 7
    # the chain goes on normally after a revert
    chain.transact(probe.functions.set_value(2), deployer)
    assert chain.call(probe.functions.value()) == 2


def test_nested_snapshots(chain: Chain, probe, deployer: Signer) -> None:
    outer = chain.snapshot()
    chain.transact(probe.functions.set_value(1), deployer)
    inner = chain.snapshot()
    chain.transact(probe.functions.set_value(2), deployer)
    chain.revert(inner)
    assert chain.call(probe.functions.value()) == 1
    chain.revert(outer)
    assert chain.call(probe.functions.value()) == 7


def test_threads_share_one_chain(chain: Chain, probe, deployer: Signer) -> None:
    """Callers run the sync interface in threads: nonces and the EVM stay consistent."""
    signers = [Signer.from_key(bytes([i + 1]) * 32) for i in range(3)]
    for s in signers:
        chain.send_eth(s, 10**18, deployer)
    errors: list[BaseException] = []

    def work(signer: Signer, base: int) -> None:
        try:
            for i in range(4):
                chain.transact(probe.functions.set_value(base + i), signer)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, 100 * (n + 1))) for n, s in enumerate(signers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(chain.events(probe.events.ValueSet)) == 12
    assert all(chain.w3.eth.get_transaction_count(s.address) == 4 for s in signers)


def test_a_transaction_is_sent_with_room_above_its_estimate() -> None:
    from framemesh.chain.backend import with_gas_margin

    assert with_gas_margin(100_000, 30_000_000) == 130_000, "a fifth more, and a little"
    assert with_gas_margin(29_000_000, 30_000_000) == 30_000_000, "never past the block's limit"
