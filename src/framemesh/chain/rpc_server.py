"""The embedded chain over JSON-RPC (`framemesh chain serve`), so that node processes
can share one py-evm chain as they share an anvil.

Two layers:

- `EmbeddedRpc`: the request handling, no I/O.  JSON-RPC bytes in, bytes out (single
  requests and batches).  Each request goes to one web3 `EthereumTesterProvider` with
  ``make_request(method, params)``, through web3's own eth-tester formatting (hex
  quantities and camelCase fields in, eth-tester's Python values out), and the result
  goes back as JSON-RPC writes it (integers as hex quantities, bytes as hex data).
  A lock serialises the EVM.
- `RpcServer`: the HTTP edge, a stdlib `ThreadingHTTPServer`.  py-evm is synchronous
  and one request at a time runs in it anyway, so an event loop would add nothing but
  a thread hop; the stdlib also keeps `chain serve` free of the node stack.

What anvil offers our code (`framemesh.chain.backend`) over JSON-RPC, it offers too:
every ``eth_*`` method web3.py sends (raw and node-signed transactions, receipts,
logs, calls, gas estimates, fees), the ten dev accounts unlocked for
``eth_sendTransaction`` (so ``--dev-account N`` works), a block mined per
transaction, and the dev methods ``anvil_mine``/``hardhat_mine`` (``[blocks]``),
``evm_mine``, ``evm_snapshot`` and ``evm_revert``.  Reverts are JSON-RPC errors as geth
and anvil write them: code 3, ``"execution reverted: reason"``, and the revert data
(``Error(string)``) in ``data``.  Its chain id is eth-tester's
(`keys.EMBEDDED_CHAIN_ID`), which `Chain` counts as a dev chain.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_tester.exceptions import SnapshotNotFound, TransactionFailed
from eth_tester.exceptions import ValidationError as TesterValidationError
from eth_utils.exceptions import ValidationError as EvmValidationError
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import ContractLogicError
from web3.providers.eth_tester.middleware import transaction_result_formatter, transaction_result_remapper

from .backend import revert_from_tester

__all__ = ["EmbeddedRpc", "RpcServer", "serve_until_signalled"]

# JSON-RPC 2.0 error codes (and geth's 3 for a revert, -32000 for a refused request)
PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32602, -32603
REVERTED, REFUSED = 3, -32000
MAX_BODY = 16 * 1024 * 1024  # bytes; the protocol's largest deployment is about 30 KB

_ERROR_STRING = bytes.fromhex("08c379a0")  # selector of Error(string)


class RpcError(Exception):
    """A request answered with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:  # only a revert has one: web3 reads any error with data as a revert
            error["data"] = self.data
        return error


class EmbeddedRpc:
    """JSON-RPC over one embedded chain; `handle(body)` answers a request body."""

    def __init__(self, provider: EthereumTesterProvider | None = None) -> None:
        self.provider = provider or EthereumTesterProvider()
        w3 = Web3(self.provider, middleware=[])
        # make_request wrapped in web3's eth-tester middleware: the request formatting
        # (hex to int, camelCase to eth-tester's keys) and the result formatting back.
        self._request = self.provider.request_func(w3, w3.middleware_onion)
        self._lock = threading.Lock()
        self._tester = self.provider.ethereum_tester
        self._dev: dict[str, Callable[[list[Any]], Any]] = {
            "anvil_mine": self._mine,
            "hardhat_mine": self._mine,
            "evm_mine": self._mine_one,
            "evm_revert": self._revert,
        }

    # -- bytes in, bytes out -------------------------------------------------------

    def handle(self, body: bytes) -> bytes | None:
        """The answer to a request body (None when it held notifications only)."""
        try:
            message = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _dump(_error_response(None, RpcError(PARSE_ERROR, f"parse error: {exc}")))
        if isinstance(message, list):
            if not message:
                return _dump(_error_response(None, RpcError(INVALID_REQUEST, "empty batch")))
            answers = [a for a in (self.answer(m) for m in message) if a is not None]
            return _dump(answers) if answers else None
        answer = self.answer(message)
        return _dump(answer) if answer is not None else None

    def answer(self, request: Any) -> dict[str, Any] | None:
        """One request object's response object (None for a notification)."""
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error_response(None, RpcError(INVALID_REQUEST, "a request is an object with a string 'method'"))
        params = request.get("params", [])
        if not isinstance(params, list):
            return _error_response(request.get("id"), RpcError(INVALID_PARAMS, "params must be an array"))
        try:
            result = self.call(request["method"], params)
        except RpcError as exc:
            response = _error_response(request.get("id"), exc)
        else:
            response = {"jsonrpc": "2.0", "id": request.get("id"), "result": result}
        return response if "id" in request else None

    # -- one call ------------------------------------------------------------------

    def call(self, method: str, params: list[Any]) -> Any:
        """The JSON result of `method`, or `RpcError`."""
        with self._lock:
            try:
                if method in self._dev:
                    return to_json(self._dev[method](params))
                response = self._request(method, params)
            except RpcError:
                raise
            except TransactionFailed as exc:
                raise _reverted(exc) from None
            except ContractLogicError as exc:  # web3 raises its own for some revert data
                data = exc.data if isinstance(exc.data, str) else None
                raise RpcError(REVERTED, str(exc.message or "execution reverted"), data) from None
            except (TesterValidationError, TypeError, ValueError, KeyError, IndexError) as exc:
                raise RpcError(INVALID_PARAMS, f"invalid params for {method}: {exc}") from None
            except EvmValidationError as exc:  # the EVM refused it: balance, nonce, gas
                raise RpcError(REFUSED, str(exc)) from None
            except Exception as exc:  # noqa: BLE001 - the client gets every failure as an answer
                raise RpcError(INTERNAL_ERROR, f"{method} failed: {type(exc).__name__}: {exc}") from None
        if "error" in response:
            error = response["error"]
            raise RpcError(error.get("code", INTERNAL_ERROR), str(error.get("message", error)))
        result = response.get("result")
        if method.startswith("eth_getBlockBy") and isinstance(result, dict):
            result = _with_camel_case_transactions(result)
        try:
            return to_json(result)
        except TypeError as exc:
            raise RpcError(INTERNAL_ERROR, f"{method}: {exc}") from None

    # -- dev methods that eth-tester names otherwise ----------------------------------

    def _mine(self, params: list[Any]) -> None:
        """anvil_mine / hardhat_mine ``[blocks?]``: that many blocks (default 1)."""
        if len(params) > 1 and _quantity(params[1]) not in (0, 1):
            raise RpcError(INVALID_PARAMS, "a block interval is not supported here: anvil_mine takes [blocks]")
        blocks = _quantity(params[0]) if params and params[0] is not None else 1
        if blocks < 0:
            raise RpcError(INVALID_PARAMS, f"cannot mine {blocks} blocks")
        if blocks:
            self._tester.mine_blocks(blocks)

    def _mine_one(self, params: list[Any]) -> str:
        """evm_mine ``[]``: one block (anvil's answer, ``"0x0"``)."""
        if params:
            raise RpcError(INVALID_PARAMS, "evm_mine takes no parameters here (to mine several blocks: anvil_mine [n])")
        self._tester.mine_blocks(1)
        return "0x0"

    def _revert(self, params: list[Any]) -> bool:
        """evm_revert ``[id]``: true, or false for an unknown snapshot (as anvil answers)."""
        if len(params) != 1:
            raise RpcError(INVALID_PARAMS, "evm_revert takes [snapshot id]")
        try:
            self._tester.revert_to_snapshot(_quantity(params[0]))
        except SnapshotNotFound:
            return False
        return True


class RpcServer(ThreadingHTTPServer):
    """`EmbeddedRpc` over HTTP: POST a JSON-RPC body to any path.  Bind with port 0
    for a free port; `url` says where it listens."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 8545, rpc: EmbeddedRpc | None = None) -> None:
        self.rpc = rpc or EmbeddedRpc()
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer (a node killed) is no error; anything
        else is one line on stderr, not the stdlib's traceback a request."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError):
            print(f"chain serve: {type(exc).__name__}: {exc} (client {client_address})", file=sys.stderr, flush=True)


def serve_until_signalled(server: RpcServer) -> None:
    """Serve until SIGINT or SIGTERM, then stop and close (call it on the main thread:
    it takes both signals); returns normally, so the command exits 0."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="chain-serve", daemon=True)
    thread.start()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: web3's session reuses its connection
    disable_nagle_algorithm = True  # else each answer waits ~40 ms for the client's delayed ACK
    server: RpcServer

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._send(411, b"")
            return
        if int(length) > MAX_BODY:
            self._send(413, b"")
            self.close_connection = True
            return
        answer = self.server.rpc.handle(self.rfile.read(int(length)))
        self._send(200 if answer is not None else 204, answer or b"")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - one line a request is noise
        pass


# -- pure helpers ------------------------------------------------------------------------


def to_json(value: Any, key: str | None = None) -> Any:
    """A result as JSON-RPC writes it: integers as hex quantities, bytes as hex data,
    the logs bloom as 256 bytes, and a contract creation's empty ``to`` as null."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, str):
        return None if key == "to" and value == "" else value
    if isinstance(value, int):
        return "0x" + value.to_bytes(256, "big").hex() if key == "logsBloom" else hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {k: to_json(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    raise TypeError(f"cannot write a {type(value).__name__} as JSON-RPC")


def _with_camel_case_transactions(block: dict[str, Any]) -> dict[str, Any]:
    """A block with full transactions: eth-tester leaves their keys in its own case."""
    txs = block.get("transactions") or []
    if txs and isinstance(txs[0], Mapping):
        return {**block, "transactions": [transaction_result_formatter(transaction_result_remapper(t)) for t in txs]}
    return block


def _reverted(exc: TransactionFailed) -> RpcError:
    """A revert as geth and anvil answer it: the reason in the message, the revert
    data (re-encoded as ``Error(string)`` when eth-tester kept only the reason)."""
    revert = revert_from_tester(exc)
    if not revert.reason:
        return RpcError(REVERTED, "execution reverted", "0x" + (revert.data or b"").hex())
    data = revert.data if revert.data is not None else _ERROR_STRING + abi_encode(["string"], [revert.reason])
    return RpcError(REVERTED, f"execution reverted: {revert.reason}", "0x" + data.hex())


def _quantity(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return int(value, 16) if value.startswith("0x") else int(value)
    raise RpcError(INVALID_PARAMS, f"not a quantity: {value!r}")


def _error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
