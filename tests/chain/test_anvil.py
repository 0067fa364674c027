"""The anvil process helper and JSON-RPC-only behaviour: unreachable endpoints and
chains that are not dev chains."""

from __future__ import annotations

import os
import time

import pytest

from framemesh.chain.anvil import Anvil, AnvilNotFound, find_anvil
from framemesh.chain.backend import Chain
from framemesh.chain.compile import Artifact
from framemesh.chain.errors import (
    ChainError,
    ChainUnavailable,
    ContractRevert,
    DevChainOnly,
)
from framemesh.chain.keys import Signer

from .conftest import ZERO, anvil_or_skip

# anvil's first dev account (the well-known "test test ... junk" mnemonic)
ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def test_anvil_starts_answers_and_stops() -> None:
    anvil_or_skip()
    node = Anvil.start()
    try:
        assert node.running and node.answers()
        assert node.url.startswith("http://127.0.0.1:")
        assert Chain.connect(node.url).chain_id == 31337
        assert f"pid={node.process.pid}" in repr(node)
    finally:
        node.stop()
    assert not node.running
    assert node.process.returncode is not None
    assert not node.answers()
    node.stop()  # idempotent


def test_anvil_context_manager_stops_on_error() -> None:
    anvil_or_skip()
    with pytest.raises(RuntimeError, match="boom"), Anvil.start() as node:
        raise RuntimeError("boom")
    assert not node.running


def test_two_anvils_get_different_ports() -> None:
    anvil_or_skip()
    with Anvil.start() as a, Anvil.start() as b:
        assert a.url != b.url
        Chain.connect(a.url).mine(3)
        assert Chain.connect(b.url).block_number == 0


def test_anvil_binary_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    anvil_or_skip()
    real = find_anvil()
    monkeypatch.setenv("FRAMEMESH_ANVIL", str(real))
    assert find_anvil() == real
    monkeypatch.setenv("FRAMEMESH_ANVIL", str(tmp_path / "no-such-anvil"))
    assert find_anvil() is None
    with pytest.raises(AnvilNotFound, match="install-anvil"):
        Anvil.start()


def test_anvil_that_cannot_start_says_why(tmp_path) -> None:
    fake = tmp_path / "anvil"
    fake.write_text("#!/bin/sh\necho 'bad flag' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(ChainError, match="bad flag"):
        Anvil.start(binary=fake, timeout=2)


def test_unreachable_endpoint_names_the_url() -> None:
    url = "http://127.0.0.1:1"
    started = time.monotonic()
    with pytest.raises(ChainUnavailable) as info:
        Chain.connect(url, timeout=2)
    assert info.value.url == url
    assert url in str(info.value) and "running" in str(info.value)
    assert time.monotonic() - started < 30  # fails, does not hang


def test_endpoint_that_goes_away(anvil: Anvil) -> None:
    chain = Chain.connect(anvil.url)
    assert chain.block_number == 0
    anvil.stop()
    with pytest.raises(ChainUnavailable, match=anvil.url.replace(".", r"\.")):
        _ = chain.block_number


def test_unsupported_url() -> None:
    with pytest.raises(ChainError, match="unsupported chain URL"):
        Chain.connect("ftp://example.org")
    assert Chain.connect("embedded").is_dev


def test_non_dev_chain_refuses_dev_features(probe_artifact: Artifact) -> None:
    """A chain id other than 31337/1337 is treated as a real chain: no dev accounts,
    no mining or snapshots; only local keys send transactions."""
    anvil_or_skip()
    with Anvil.start(chain_id=4242) as node:
        chain = Chain.connect(node.url)
        assert chain.chain_id == 4242 and not chain.is_dev
        with pytest.raises(DevChainOnly, match="4242"):
            _ = chain.accounts
        with pytest.raises(DevChainOnly):
            chain.mine(1)
        with pytest.raises(DevChainOnly):
            chain.snapshot()
        unlocked = Signer.dev(Signer.from_key(ANVIL_KEY_0).address)
        with pytest.raises(DevChainOnly, match="dev account"):
            chain.send_eth(ZERO, 1, unlocked)
        key = Signer.from_key(ANVIL_KEY_0)  # funded by anvil, signed here
        probe = chain.deploy(probe_artifact, 5, ZERO, sender=key)
        chain.transact(probe.functions.set_value(6), key)
        assert chain.call(probe.functions.value()) == 6
        with pytest.raises(ContractRevert, match="unlucky"):
            chain.transact(probe.functions.set_value(13), key)


def test_anvil_block_time_mines_on_a_timer() -> None:
    anvil_or_skip()
    with Anvil.start(block_time=0.2) as node:
        chain = Chain.connect(node.url)
        deadline = time.monotonic() + 10
        while chain.block_number < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert chain.block_number >= 2


@pytest.mark.skipif(not os.environ.get("FRAMEMESH_REQUIRE_ANVIL"), reason="CI check only")
def test_anvil_is_installed_when_required() -> None:
    assert find_anvil() is not None


def test_both_backends_spend_the_same_gas(probe_artifact: Artifact) -> None:
    """Gas measured on the embedded chain holds on anvil (same EVM rules)."""
    anvil_or_skip()
    with Anvil.start() as node:
        used = []
        for chain in (Chain.embedded(), Chain.connect(node.url)):
            me = chain.accounts[0]
            probe = chain.deploy(probe_artifact, 1, ZERO, sender=me)
            used.append(
                [
                    chain.transact(probe.functions.set_value(5), me).gas_used,
                    chain.transact(probe.functions.deposit(), me, value=10).gas_used,
                ]
            )
        assert used[0] == used[1]
