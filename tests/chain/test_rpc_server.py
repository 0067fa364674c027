"""`framemesh chain serve`: the embedded chain over JSON-RPC.

The request handling alone (`EmbeddedRpc`, bytes in and out), the HTTP edge, then the
real command in a process of its own, driven as the nodes drive anvil: `chain deploy`
and `chain fund --dev-account 0` over `--rpc`, then `Chain.connect(url)` sending
locally signed transactions, mining, reading logs and meeting a revert.  The
conformance suite (test_backend, test_deployment, test_protocol_deployment) also runs
on it: the ``served`` case of the `chain` fixture.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode as abi_decode
from web3 import Web3

from framemesh.chain.backend import Chain
from framemesh.chain.compile import Artifact
from framemesh.chain.errors import ContractRevert
from framemesh.chain.keys import EMBEDDED_CHAIN_ID, create_keystore
from framemesh.chain.local import ServedChain
from framemesh.chain.rpc_server import EmbeddedRpc, RpcServer, to_json
from framemesh.chain.units import parse_amount
from framemesh.protocol.network import Protocol

from .conftest import ZERO, served_chain

DEV_0 = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"  # eth-tester's first dev account (key 1)
DEV_1 = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"
PASSWORD = "served chain password"


@pytest.fixture
def rpc() -> EmbeddedRpc:
    return EmbeddedRpc()


def ask(rpc: EmbeddedRpc, method: str, *params: Any) -> dict[str, Any]:
    """One request through the pure handler, as bytes on the wire would go."""
    answer = rpc.handle(json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}).encode())
    assert answer is not None
    response = json.loads(answer)
    assert response["id"] == 7 and response["jsonrpc"] == "2.0"
    return response


def result(rpc: EmbeddedRpc, method: str, *params: Any) -> Any:
    response = ask(rpc, method, *params)
    assert "error" not in response, response
    return response["result"]


def deploy_probe(rpc: EmbeddedRpc, artifact: Artifact) -> tuple[str, Any]:
    """Probe(7, zero) deployed from dev account 0, node-signed; its address and an
    encoder for its calls."""
    probe = Web3().eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = probe.constructor(7, ZERO).data_in_transaction
    tx_hash = result(rpc, "eth_sendTransaction", {"from": DEV_0, "data": data, "gas": hex(3_000_000)})
    receipt = result(rpc, "eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1" and receipt["to"] is None  # a creation has no `to`
    return receipt["contractAddress"], probe


# -- the request handling ------------------------------------------------------------


def test_envelope_errors_are_json_rpc_errors(rpc: EmbeddedRpc) -> None:
    parse = json.loads(rpc.handle(b"{not json") or b"")
    assert parse["error"]["code"] == -32700 and parse["id"] is None
    not_a_request = json.loads(rpc.handle(b'{"jsonrpc": "2.0", "id": 1, "params": []}') or b"")
    assert not_a_request["error"]["code"] == -32600
    bad_params = json.loads(rpc.handle(b'{"jsonrpc": "2.0", "id": 2, "method": "eth_chainId", "params": 5}') or b"")
    assert bad_params["error"]["code"] == -32602 and bad_params["id"] == 2
    unknown = ask(rpc, "eth_noSuchMethod")
    assert unknown["error"]["code"] == -32601 and "eth_noSuchMethod" in unknown["error"]["message"]
    assert json.loads(rpc.handle(b"[]") or b"")["error"]["code"] == -32600
    assert rpc.handle(b'{"jsonrpc": "2.0", "method": "evm_mine", "params": []}') is None  # a notification
    assert result(rpc, "eth_blockNumber") == "0x1"  # ... that was carried out all the same


def test_a_batch_is_answered_in_order_without_its_notifications(rpc: EmbeddedRpc) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "method": "anvil_mine", "params": ["0x2"]},
        {"jsonrpc": "2.0", "id": "b", "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_nope", "params": []},
    ]
    answers = json.loads(rpc.handle(json.dumps(batch).encode()) or b"")
    assert [a["id"] for a in answers] == [1, "b", 3]
    assert int(answers[0]["result"], 16) == EMBEDDED_CHAIN_ID
    assert answers[1]["result"] == "0x2"
    assert answers[2]["error"]["code"] == -32601


def test_results_are_written_as_json_rpc_writes_them(rpc: EmbeddedRpc, probe_artifact: Artifact) -> None:
    assert result(rpc, "eth_blockNumber") == "0x0"
    assert int(result(rpc, "eth_getBalance", DEV_0, "latest"), 16) == 10**24
    assert result(rpc, "eth_accounts")[:2] == [DEV_0, DEV_1]
    genesis = result(rpc, "eth_getBlockByNumber", "0x0", False)
    assert genesis["number"] == "0x0" and genesis["gasLimit"].startswith("0x")
    assert len(genesis["logsBloom"]) == 2 + 2 * 256
    address, probe = deploy_probe(rpc, probe_artifact)
    tx_hash = result(rpc, "eth_sendTransaction",
                     {"from": DEV_0, "to": address, "data": probe.encode_abi("set_value", [5]), "gas": "0x30000"})
    receipt = result(rpc, "eth_getTransactionReceipt", tx_hash)
    assert receipt["blockNumber"] == "0x2" and receipt["status"] == "0x1" and len(receipt["logs"]) == 1
    block = result(rpc, "eth_getBlockByNumber", "0x2", True)
    (tx,) = block["transactions"]
    assert tx["hash"] == tx_hash and tx["blockHash"] == block["hash"] and "block_hash" not in tx
    assert tx["input"].startswith("0x") and tx["nonce"] == "0x1"
    logs = result(rpc, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": address})
    assert [log["transactionHash"] for log in logs] == [tx_hash]
    assert int(logs[0]["data"], 16) == 5


def test_a_revert_carries_its_reason_and_data(rpc: EmbeddedRpc, probe_artifact: Artifact) -> None:
    address, probe = deploy_probe(rpc, probe_artifact)
    unlucky = {"from": DEV_0, "to": address, "data": probe.encode_abi("set_value", [13])}
    for method, params in (("eth_call", [unlucky, "latest"]), ("eth_estimateGas", [unlucky])):
        error = ask(rpc, method, *params)["error"]
        assert error["code"] == 3 and error["message"] == "execution reverted: unlucky number", method
        data = bytes.fromhex(error["data"][2:])
        assert data[:4] == bytes.fromhex("08c379a0") and abi_decode(["string"], data[4:]) == ("unlucky number",)
    bare = ask(rpc, "eth_call", {"to": address, "data": probe.encode_abi("fail_without_reason", [])}, "latest")["error"]
    assert bare == {"code": 3, "message": "execution reverted", "data": "0x"}
    # with a gas limit given, a reverting transaction is mined and fails, as on anvil
    tx_hash = result(rpc, "eth_sendTransaction", {**unlucky, "gas": "0x30000"})
    assert result(rpc, "eth_getTransactionReceipt", tx_hash)["status"] == "0x0"


def test_a_refused_transaction_is_an_error_without_revert_data(rpc: EmbeddedRpc) -> None:
    broke = ask(rpc, "eth_sendTransaction", {"from": DEV_0, "to": DEV_1, "value": hex(10**30), "gas": "0x5208"})["error"]
    assert broke["code"] == -32000 and "data" not in broke  # web3 reads an error with data as a revert
    assert "balance" in broke["message"].lower()
    no_gas = ask(rpc, "eth_sendTransaction", {"from": DEV_0, "to": DEV_1, "value": "0x1"})["error"]
    assert no_gas["code"] == -32602 and "gas" in no_gas["message"]


def test_dev_methods_mine_and_go_back(rpc: EmbeddedRpc) -> None:
    assert result(rpc, "anvil_mine", "0x5") is None
    assert result(rpc, "eth_blockNumber") == "0x5"
    result(rpc, "hardhat_mine")
    assert result(rpc, "evm_mine") == "0x0"
    assert result(rpc, "eth_blockNumber") == "0x7"
    assert ask(rpc, "evm_mine", "0x3")["error"]["code"] == -32602  # anvil's timestamp form: not here
    assert ask(rpc, "anvil_mine", "0x2", "0xc")["error"]["code"] == -32602  # intervals: not here
    snapshot = result(rpc, "evm_snapshot")
    result(rpc, "eth_sendTransaction", {"from": DEV_0, "to": DEV_1, "value": "0x10", "gas": "0x5208"})
    assert result(rpc, "eth_blockNumber") == "0x8"
    assert result(rpc, "evm_revert", snapshot) is True
    assert result(rpc, "eth_blockNumber") == "0x7"
    assert int(result(rpc, "eth_getBalance", DEV_1, "latest"), 16) == 10**24
    assert result(rpc, "evm_revert", "0x99") is False


def test_to_json() -> None:
    assert to_json({"a": 26, "ok": True, "f": 0.5, "none": None, "b": b"\x01\xff", "s": "0xab"}) == {
        "a": "0x1a", "ok": True, "f": 0.5, "none": None, "b": "0x01ff", "s": "0xab"}
    assert to_json([0, (1, 2)]) == ["0x0", ["0x1", "0x2"]]
    assert to_json({"to": "", "from": ""}) == {"to": None, "from": ""}
    assert to_json({"logsBloom": 1})["logsBloom"] == "0x" + "00" * 255 + "01"
    with pytest.raises(TypeError, match="object"):
        to_json(object())


# -- over HTTP -----------------------------------------------------------------------


def post(server: RpcServer, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), int(port), timeout=10)
    try:
        connection.request("POST", "/", body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_http_edge() -> None:
    with served_chain() as server:
        status, body = post(server, b'{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}')
        assert status == 200 and int(json.loads(body)["result"], 16) == EMBEDDED_CHAIN_ID
        status, body = post(server, b'{"jsonrpc": "2.0", "method": "evm_mine", "params": []}')
        assert (status, body) == (204, b"")
        status, _ = post(server, b"{}", {"Content-Length": str(64 * 1024 * 1024)})
        assert status == 413
        chain = Chain.connect(server.url)
        assert chain.is_dev and chain.block_number == 1  # the notification mined a block
        assert [a.address for a in chain.accounts][:2] == [DEV_0, DEV_1]


# -- the command, in a process of its own ------------------------------------------


def framemesh(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framemesh", *args], capture_output=True, text=True, timeout=300, cwd=cwd,
        env={**os.environ, "FRAMEMESH_KEYSTORE_PASSWORD": PASSWORD},
    )


def test_chain_serve_prints_its_url_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "framemesh", "chain", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = process.stdout.readline() if process.stdout else ""
        assert f"chain id {EMBEDDED_CHAIN_ID}" in first and "10 unlocked dev accounts" in first, first
        url = first.split()[-1]
        assert url.startswith("http://127.0.0.1:")
        assert f"--dev-account 0: {DEV_0}" in (process.stdout.readline() if process.stdout else "")
        assert Chain.connect(url).mine(3) == 3
        busy = framemesh(tmp_path, "chain", "serve", "--port", url.rsplit(":", 1)[1])
        assert busy.returncode == 1 and "cannot listen" in busy.stderr and "Traceback" not in busy.stderr
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def test_the_protocol_on_a_served_chain(tmp_path: Path) -> None:
    """What a network of processes does with it: deploy and fund over --rpc with a dev
    account, then a keystore account's own (raw) transactions, rounds, logs, reverts."""
    with ServedChain.start() as node:
        assert node.chain_id == EMBEDDED_CHAIN_ID and node.answers()
        rpc = ("--rpc", node.url)
        deployed = framemesh(tmp_path, "chain", "deploy", "--round-length", "5", *rpc)
        assert deployed.returncode == 0, deployed.stderr
        me = create_keystore(tmp_path / "me.json", PASSWORD, kdf="pbkdf2", iterations=2)
        funded = framemesh(tmp_path, "chain", "fund", me.address, "--eth", "2 ETH", "--fmt", "100 FMT",
                           "--dev-account", "0", *rpc)
        assert funded.returncode == 0, funded.stderr
        refused = framemesh(tmp_path, "stake", "unbond", "1 FMT", "--dev-account", "3", *rpc)
        assert refused.returncode == 1 and "the chain refused" in refused.stderr, refused.stderr

        chain = Chain.connect(node.url)
        proto = Protocol.load(chain, tmp_path / "framemesh-data" / "deployment.json")
        assert chain.balance(me) == parse_amount("2 ETH")
        assert proto.token_balance(me.address) == parse_amount("100 FMT")
        receipt = proto.transfer_tokens(me, DEV_1, parse_amount("30 FMT"))  # signed here, sent raw
        assert chain.w3.eth.get_transaction(receipt.tx_hash)["from"] == me.address
        to_dev_1 = chain.events(proto.token.events.Transfer, from_block=receipt.block_number)
        assert [(e["args"]["sender"], e["args"]["receiver"], e["args"]["value"]) for e in to_dev_1] == [
            (me.address, DEV_1, parse_amount("30 FMT"))]
        with pytest.raises(ContractRevert, match="insufficient balance") as info:
            proto.transfer_tokens(me, DEV_1, parse_amount("71 FMT"))
        assert info.value.reason == "insufficient balance"

        start = proto.current_round()
        chain.mine(proto.round_length())
        assert proto.current_round() == start + 1 and proto.round_needs_initializing()
        proto.initialize_round(me)
        assert proto.round_initialized()
        node.stop()
        assert node.process.returncode == 0 and not node.running
