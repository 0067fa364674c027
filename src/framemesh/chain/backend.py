"""`Chain`: the one place framemesh talks to an EVM chain.

Two backends, one interface; code above this module does not know which it has:

- **embedded** (`Chain.embedded()`, the default): py-evm in this process through
  web3's `EthereumTesterProvider`; ten funded dev accounts; nothing to install.
- **JSON-RPC** (`Chain.connect(url)`): a local anvil (`framemesh.chain.anvil`), the
  embedded chain served to other processes (`framemesh chain serve`,
  `framemesh.chain.rpc_server`), or any public endpoint.

The interface is synchronous (web3.py's sync API); async callers run it in a thread
(`asyncio.to_thread`).  It is safe to share one `Chain` between threads: the embedded
EVM is serialised by a lock, and on JSON-RPC only nonce allocation is.

Every exception a backend raises for a revert, an unreachable node or a refused
transaction is translated here, in `_translating`, into `framemesh.chain.errors`.
"""

from __future__ import annotations

import ast
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import requests
from eth_abi.abi import decode as abi_decode
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from eth_utils.exceptions import ValidationError as EthValidationError
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.contract import Contract
from web3.contract.contract import ContractEvent, ContractFunction
from web3.exceptions import (
    BlockNotFound,
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    Web3RPCError,
)
from web3.logs import DISCARD
from web3.types import BlockIdentifier, EventData, FilterParams, LogReceipt, TxParams, TxReceipt

from .compile import Artifact
from .errors import ChainError, ChainUnavailable, ContractRevert, DevChainOnly
from .keys import DEV_CHAIN_IDS, Signer

try:  # eth-tester comes with web3[tester]; without it only JSON-RPC works
    from eth_tester.exceptions import TransactionFailed
except ImportError:  # pragma: no cover
    TransactionFailed = type("TransactionFailed", (Exception,), {})

EMBEDDED = "embedded"

_ERROR_STRING = bytes.fromhex("08c379a0")  # selector of Error(string)
_REVERTED = "execution reverted"

Address = str
Sender = Signer


@dataclass(frozen=True)
class Receipt:
    """A mined, successful transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    contract_address: str | None = None
    raw: TxReceipt = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def events(self, event: ContractEvent) -> list[EventData]:
        """The `event` logs (e.g. ``token.events.Transfer``) this transaction emitted."""
        return list(event.process_receipt(self.raw, errors=DISCARD))


@dataclass(frozen=True)
class BlockHeader:
    number: int
    hash: str  # 0x-hex
    timestamp: int  # unix seconds


class Chain:
    """A connection to one chain.  Build with `Chain.embedded()` or `Chain.connect(url)`."""

    def __init__(self, w3: Web3, *, url: str, receipt_timeout: float = 120.0) -> None:
        self._w3 = w3
        self.url = url
        self.receipt_timeout = receipt_timeout
        self._embedded = url == EMBEDDED
        self._lock = threading.RLock()
        self._send_lock = self._lock if self._embedded else threading.Lock()
        self._named: dict[str, Contract] = {}
        with self._translating():
            self.chain_id: int = int(w3.eth.chain_id)

    # -- construction -------------------------------------------------------------

    @classmethod
    def embedded(cls) -> Chain:
        """A fresh in-process py-evm chain with ten funded dev accounts."""
        return cls(Web3(EthereumTesterProvider()), url=EMBEDDED)

    @classmethod
    def connect(cls, url: str, *, timeout: float = 10.0, receipt_timeout: float = 120.0) -> Chain:
        """Connect to a JSON-RPC endpoint (``http://`` or ``https://``).

        Raises `ChainUnavailable` if it does not answer within `timeout` seconds.
        """
        if url == EMBEDDED:
            return cls.embedded()
        if not url.startswith(("http://", "https://")):
            raise ChainError(f"unsupported chain URL {url!r}: use http(s)://host:port or 'embedded'")
        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}))
        return cls(w3, url=url, receipt_timeout=receipt_timeout)

    @property
    def w3(self) -> Web3:
        """The underlying web3 instance, for what this interface does not cover."""
        return self._w3

    @property
    def is_dev(self) -> bool:
        """Embedded, or a local dev chain (chain id 31337, 1337 or the served embedded chain's)."""
        return self._embedded or self.chain_id in DEV_CHAIN_IDS

    def __repr__(self) -> str:
        return f"Chain({self.url}, chain_id={self.chain_id})"

    # -- reading ------------------------------------------------------------------

    @property
    def block_number(self) -> int:
        with self._guard(), self._translating():
            return int(self._w3.eth.block_number)

    @property
    def accounts(self) -> list[Signer]:
        """The node's unlocked, funded dev accounts (dev chains only)."""
        self._require_dev("dev accounts")
        with self._guard(), self._translating():
            return [Signer.dev(a) for a in self._w3.eth.accounts]

    def balance(self, who: Address | Signer) -> int:
        """ETH balance in wei."""
        with self._guard(), self._translating():
            return int(self._w3.eth.get_balance(_address(who)))

    def has_code(self, address: Address) -> bool:
        """True if a contract is deployed at `address`."""
        with self._guard(), self._translating():
            return len(self._w3.eth.get_code(to_checksum_address(address))) > 0

    def call(
        self, fn: ContractFunction, *, sender: Address | Signer | None = None, block: BlockIdentifier = "latest"
    ) -> Any:
        """Call a view (or simulate any function) without a transaction."""
        params: TxParams = {"from": _address(sender)} if sender is not None else {}
        with self._guard(), self._translating():
            return fn.call(params, block_identifier=block)

    def events(
        self, event: ContractEvent, from_block: int = 0, to_block: int | str = "latest", **filters: Any
    ) -> list[EventData]:
        """Logs of `event` (e.g. ``probe.events.ValueSet``) in a block range, filtered
        by indexed arguments given as keywords."""
        with self._guard(), self._translating():
            return list(event.get_logs(from_block=from_block, to_block=to_block, argument_filters=filters or None))

    def logs(self, addresses: list[Address], from_block: int, to_block: int) -> list[LogReceipt]:
        """Every log the contracts at `addresses` emitted in blocks `from_block`..`to_block`
        (inclusive), in chain order, undecoded: one ``eth_getLogs`` for many contracts."""
        query: FilterParams = {
            "address": [to_checksum_address(a) for a in addresses],
            "fromBlock": from_block,
            "toBlock": to_block,
        }
        with self._guard(), self._translating():
            logs = list(self._w3.eth.get_logs(query))
        return sorted(logs, key=lambda log: (int(log["blockNumber"]), int(log["logIndex"])))

    def block_header(self, block: BlockIdentifier = "latest") -> BlockHeader:
        """A block's number, hash and timestamp."""
        with self._guard(), self._translating():
            raw = self._w3.eth.get_block(block)
        return BlockHeader(number=int(raw["number"]), hash="0x" + bytes(raw["hash"]).hex(), timestamp=int(raw["timestamp"]))

    def transaction_sender(self, tx_hash: str) -> str:
        """Who sent a mined transaction (its ``from``)."""
        with self._guard(), self._translating():
            return to_checksum_address(self._w3.eth.get_transaction(tx_hash)["from"])

    # -- contracts ----------------------------------------------------------------

    def deploy(self, artifact: Artifact, *args: Any, sender: Signer, value: int = 0) -> Contract:
        """Deploy `artifact` with constructor `args`; returns the contract, also
        reachable afterwards as ``chain.contract(artifact.name)``."""
        factory = self._w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        with self._guard(), self._translating():
            tx = factory.constructor(*args).build_transaction(cast(TxParams, self._params(sender, value)))
        receipt = self._send(tx, sender)
        if not receipt.contract_address:
            raise ChainError(f"deploying {artifact.name} gave no contract address (transaction {receipt.tx_hash})")
        return self.register(artifact.name, receipt.contract_address, artifact.abi)

    def register(self, name: str, address: Address, abi: list[dict[str, Any]]) -> Contract:
        """Make a contract at `address` known to this chain object as `name`."""
        contract = self._w3.eth.contract(address=to_checksum_address(address), abi=abi)
        self._named[name] = contract
        return contract

    def contract(self, name_or_address: str, abi: list[dict[str, Any]] | None = None) -> Contract:
        """A contract by the name it was deployed/registered under, or by address + ABI."""
        if abi is not None:
            return self._w3.eth.contract(address=to_checksum_address(name_or_address), abi=abi)
        try:
            return self._named[name_or_address]
        except KeyError:
            known = ", ".join(sorted(self._named)) or "none"
            raise ChainError(
                f"no contract named {name_or_address!r} on this chain (known: {known}); pass an ABI to use an address"
            ) from None

    def transact(self, fn: ContractFunction, sender: Signer, *, value: int = 0, gas: int | None = None) -> Receipt:
        """Send `fn` (e.g. ``probe.functions.set_value(5)``) as a transaction from
        `sender` and wait until it is mined.  Raises `ContractRevert` with the reason."""
        params = self._params(sender, value)
        if gas is not None:
            params["gas"] = gas
        with self._guard(), self._translating():
            tx = fn.build_transaction(cast(TxParams, params))
        return self._send(tx, sender)

    def send_eth(self, to: Address | Signer, value: int, sender: Signer) -> Receipt:
        """Transfer `value` wei."""
        return self._send({**self._params(sender, value), "to": _address(to)}, sender)

    # -- dev chains: time and state -------------------------------------------------

    def mine(self, blocks: int = 1) -> int:
        """Mine `blocks` empty blocks (dev chains only); returns the new block number."""
        self._require_dev("mining blocks")
        if blocks < 0:
            raise ValueError(f"cannot mine a negative number of blocks ({blocks})")
        with self._guard(), self._translating():
            if self._embedded:
                if blocks:
                    self._testing.mine(blocks)
            elif blocks:
                try:
                    self._rpc("anvil_mine", [hex(blocks)])
                except ChainError:  # not anvil: one evm_mine per block
                    for _ in range(blocks):
                        self._rpc("evm_mine", [])
            return int(self._w3.eth.block_number)

    def snapshot(self) -> str:
        """Save the chain state (dev chains only); `revert(id)` goes back to it."""
        self._require_dev("snapshots")
        with self._guard(), self._translating():
            if self._embedded:
                return str(self._testing.snapshot())
            return str(self._rpc("evm_snapshot", []))

    def revert(self, snapshot_id: str) -> None:
        """Return to a snapshot taken with `snapshot()`.  Take a new snapshot after
        reverting if you need to return again (anvil forgets a used snapshot)."""
        self._require_dev("snapshots")
        with self._guard(), self._translating():
            if self._embedded:
                self._testing.revert(snapshot_id)
            elif self._rpc("evm_revert", [snapshot_id]) is not True:
                raise ChainError(f"no snapshot {snapshot_id} on {self.url}")

    # -- internals ----------------------------------------------------------------

    def _params(self, sender: Signer, value: int) -> dict[str, Any]:
        if not sender.is_local:
            self._require_dev(f"sending from dev account {sender.address}")
        params: dict[str, Any] = {"from": sender.address, "value": value}
        if sender.is_local:
            params["chainId"] = self.chain_id
        return params

    def _send(self, tx: TxParams | dict[str, Any], sender: Signer) -> Receipt:
        tx = dict(tx)
        with self._send_lock, self._translating():
            if sender.is_local:
                tx = self._fill(tx, sender.address)
                tx_hash = self._w3.eth.send_raw_transaction(sender.sign_transaction(tx))
            else:
                tx_hash = self._w3.eth.send_transaction(cast(TxParams, tx))
        with self._guard(), self._translating():
            raw = self._w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout, poll_latency=0.05)
        if raw["status"] != 1:
            raise self._replayed_revert(tx, raw)
        address = raw.get("contractAddress")
        return Receipt(
            tx_hash="0x" + bytes(raw["transactionHash"]).hex(),
            block_number=int(raw["blockNumber"]),
            gas_used=int(raw["gasUsed"]),
            contract_address=to_checksum_address(address) if address else None,
            raw=raw,
        )

    def _fill(self, tx: dict[str, Any], address: str) -> dict[str, Any]:
        """Nonce, chain id, gas and fees for a locally signed transaction."""
        eth = self._w3.eth
        tx = {**tx, "from": address, "chainId": self.chain_id}
        tx.setdefault("nonce", eth.get_transaction_count(address, "pending"))  # type: ignore[arg-type]
        if "gas" not in tx:
            tx["gas"] = with_gas_margin(eth.estimate_gas(tx), int(eth.get_block("latest")["gasLimit"]))  # type: ignore[arg-type]
        if "gasPrice" not in tx and "maxFeePerGas" not in tx:
            base_fee = eth.get_block("latest").get("baseFeePerGas")
            if base_fee is None:
                tx["gasPrice"] = eth.gas_price
            else:
                tip = eth.max_priority_fee
                tx["maxPriorityFeePerGas"] = tip
                tx["maxFeePerGas"] = 2 * int(base_fee) + tip
        return tx

    def _replayed_revert(self, tx: dict[str, Any], raw: TxReceipt) -> ContractRevert:
        """A mined transaction failed (status 0): replay it as a call on the state
        before its block to learn the reason."""
        tx_hash = "0x" + bytes(raw["transactionHash"]).hex()
        replay = {k: tx[k] for k in ("from", "to", "data", "value", "gas") if k in tx}
        try:
            with self._guard(), self._translating():
                self._w3.eth.call(replay, block_identifier=int(raw["blockNumber"]) - 1)  # type: ignore[arg-type]
        except ContractRevert as exc:
            return ContractRevert(exc.reason, data=exc.data, tx_hash=tx_hash)
        except ChainError:
            pass
        return ContractRevert("", tx_hash=tx_hash)

    def _rpc(self, method: str, params: list[Any]) -> Any:
        response = self._w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            error = response["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ChainError(f"{method} failed on {self.url}: {message}")
        return response.get("result")

    @property
    def _testing(self) -> Any:
        """eth-tester's controls (mine, snapshot, revert) that web3 attaches as ``w3.testing``."""
        return cast(Any, self._w3).testing

    def _require_dev(self, what: str) -> None:
        if not self.is_dev:
            raise DevChainOnly(what, self.chain_id)

    def _guard(self) -> contextlib.AbstractContextManager[Any]:
        return self._lock if self._embedded else contextlib.nullcontext()

    @contextlib.contextmanager
    def _translating(self) -> Iterator[None]:
        """The one place backend exceptions become `framemesh.chain.errors`."""
        try:
            yield
        except ChainError:
            raise
        except TransactionFailed as exc:  # embedded
            raise revert_from_tester(exc) from None
        except ContractLogicError as exc:  # JSON-RPC (and web3's own checks)
            raise _revert_from_rpc(exc) from None
        except (requests.ConnectionError, requests.Timeout, ProviderConnectionError) as exc:
            raise ChainUnavailable(self.url, type(exc).__name__) from exc
        except BlockNotFound as exc:
            raise ChainError(f"{self.url} has no such block: {exc}") from exc
        except TimeExhausted as exc:
            raise ChainError(f"transaction not mined within {self.receipt_timeout:g} s on {self.url}: {exc}") from exc
        except Web3RPCError as exc:
            raise ChainError(f"{self.url} refused the request: {_rpc_message(exc)}") from exc
        except EthValidationError as exc:  # embedded: e.g. balance too low for value + gas
            raise ChainError(f"transaction refused: {exc}") from exc


def _address(who: Address | Signer) -> ChecksumAddress:
    if isinstance(who, Signer):
        return who.address
    return to_checksum_address(who)


def _decode_reason(data: bytes) -> str | None:
    if data[:4] == _ERROR_STRING:
        try:
            return str(abi_decode(["string"], data[4:])[0])
        except Exception:  # malformed revert data: fall back to the message
            return None
    return None


def _strip(message: str) -> str:
    if message.startswith(_REVERTED):
        message = message[len(_REVERTED) :]
        return message[1:].strip() if message.startswith(":") else message.strip()
    return message.strip()


def revert_from_tester(exc: Exception) -> ContractRevert:
    """eth-tester's `TransactionFailed`, in any of its shapes, as a `ContractRevert`
    (`framemesh.chain.rpc_server` uses it too, to answer a revert over JSON-RPC)."""
    arg = exc.args[0] if exc.args else ""
    if isinstance(arg, bytes):
        return ContractRevert(_decode_reason(arg) or "", data=arg)
    reason = _strip(str(arg))
    if reason.startswith(("b'", 'b"')):  # raw revert data, e.g. "b''" for a bare revert
        try:
            data = ast.literal_eval(reason)
        except (ValueError, SyntaxError):
            return ContractRevert(reason)
        return ContractRevert(_decode_reason(data) or "", data=data)
    return ContractRevert(reason)


def with_gas_margin(estimate: int, block_limit: int) -> int:
    """The gas limit to send with a transaction estimated at `estimate`: a fifth more.

    The estimate is made on the state of now; by the time the transaction is mined,
    others may have gone first (three orchestrators self-bonding at once each insert
    into the sorted pool, so each walks a longer list than it was estimated on), and a
    transaction held to its exact estimate runs out of gas and reverts with no reason.
    Unused gas is not paid for, so the margin costs nothing."""
    return min(block_limit, estimate + estimate // 5 + 10_000)


def _revert_from_rpc(exc: ContractLogicError) -> ContractRevert:
    data = exc.data if isinstance(exc.data, str) else None
    raw = bytes.fromhex(data[2:]) if data and data.startswith("0x") else None
    decoded = _decode_reason(raw) if raw else None
    if decoded is not None:
        return ContractRevert(decoded, data=raw)
    message = exc.message if isinstance(exc.message, str) else str(exc)
    return ContractRevert(_strip(message), data=raw or None)


def _rpc_message(exc: Web3RPCError) -> str:
    response = getattr(exc, "rpc_response", None)
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    message = getattr(exc, "message", None)
    return str(message) if isinstance(message, str) else str(exc)
