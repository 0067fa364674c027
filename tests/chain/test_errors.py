"""Revert translation from each backend's exception shapes, and the import cost of
the pure modules."""

from __future__ import annotations

import subprocess
import sys

from eth_abi.abi import encode
from eth_tester.exceptions import TransactionFailed
from web3.exceptions import ContractLogicError

from framemesh.chain.backend import _revert_from_rpc, revert_from_tester
from framemesh.chain.errors import (
    ChainError,
    ChainUnavailable,
    ContractRevert,
    DevChainOnly,
)

ERROR_STRING = bytes.fromhex("08c379a0")


def error_data(reason: str) -> bytes:
    return ERROR_STRING + encode(["string"], [reason])


def test_tester_shapes() -> None:
    assert revert_from_tester(TransactionFailed("execution reverted: no stake")).reason == "no stake"
    bare = revert_from_tester(TransactionFailed("execution reverted: b''"))
    assert bare.reason == "" and bare.data == b""
    assert revert_from_tester(TransactionFailed(error_data("round locked"))).reason == "round locked"
    encoded = revert_from_tester(TransactionFailed(f"execution reverted: {error_data('late')!r}"))
    assert encoded.reason == "late"
    assert revert_from_tester(TransactionFailed()).reason == ""


def test_rpc_shapes() -> None:
    data = error_data("ticket expired")
    decoded = _revert_from_rpc(ContractLogicError("execution reverted: ticket expired", data="0x" + data.hex()))
    assert decoded.reason == "ticket expired" and decoded.data == data
    assert _revert_from_rpc(ContractLogicError("execution reverted", data="0x")).reason == ""
    custom = _revert_from_rpc(ContractLogicError("execution reverted: custom error 0xdeadbeef", data="0xdeadbeef"))
    assert custom.reason == "custom error 0xdeadbeef" and custom.data == bytes.fromhex("deadbeef")
    broken = ERROR_STRING + b"\x00" * 3  # claims Error(string) but is truncated
    assert _revert_from_rpc(ContractLogicError("execution reverted: ?", data="0x" + broken.hex())).reason == "?"


def test_error_texts_and_hierarchy() -> None:
    revert = ContractRevert("not active", tx_hash="0xabc")
    assert revert.reason == "not active" and "not active" in str(revert) and "0xabc" in str(revert)
    assert "without a reason" in str(ContractRevert(""))
    assert isinstance(revert, ChainError)
    unavailable = ChainUnavailable("http://x:1", "timeout")
    assert unavailable.url == "http://x:1" and "install-anvil" in str(unavailable)
    assert "31337" in str(DevChainOnly("mining blocks", 42161)) and "42161" in str(DevChainOnly("mining", 42161))


def test_pure_modules_do_not_import_web3() -> None:
    code = "import sys, framemesh.chain.units, framemesh.chain.errors; print('web3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
