"""Raw logs of the protocol contracts into (contract, event, fields), by the deployed ABIs.

Fields keep their Vyper names; values become JSON-able without loss: addresses
checksummed, bytes as 0x-hex, integers exact (Python ints of any size).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils.abi import event_abi_to_log_topic
from web3.contract import Contract
from web3.contract.contract import ContractEvent
from web3.types import LogReceipt

#: the contracts whose events the explorer indexes, and their attributes on `Protocol`
#: (the Token's transfers and approvals are left out: they are many, and the explorer
#: shows none of them)
INDEXED_CONTRACTS = {
    "RoundsManager": "rounds",
    "BondingManager": "bonding",
    "Minter": "minter",
    "TicketBroker": "broker",
    "ServiceRegistry": "registry",
}


@dataclass(frozen=True)
class Decoded:
    contract: str
    name: str
    fields: dict[str, Any]


class EventDecoder:
    def __init__(self, contracts: Mapping[str, Contract]) -> None:
        self._by_topic: dict[tuple[str, bytes], tuple[str, ContractEvent]] = {}
        self.addresses: list[str] = []
        for name, contract in contracts.items():
            address = str(contract.address).lower()
            self.addresses.append(str(contract.address))
            for item in contract.abi:
                if item.get("type") == "event" and not item.get("anonymous"):
                    topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]
                    self._by_topic[(address, topic)] = (name, contract.events[item["name"]]())

    def decode(self, log: LogReceipt) -> Decoded | None:
        """The event in `log`, or None for a log of an event these ABIs do not have."""
        topics = log["topics"]
        if not topics:
            return None
        found = self._by_topic.get((str(log["address"]).lower(), bytes(topics[0])))
        if found is None:
            return None
        contract, event = found
        data = event.process_log(log)
        return Decoded(contract, str(data["event"]), {k: plain(v) for k, v in data["args"].items()})


def plain(value: Any) -> Any:
    """A decoded ABI value as JSON-able data, exactly."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool) or isinstance(value, int) or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


def creation_round(aux_data: str) -> int | None:
    """The round a ticket was made in, from its auxData (creation round ++ that round's block hash)."""
    raw = bytes.fromhex(aux_data.removeprefix("0x"))
    return int.from_bytes(raw[:32], "big") if len(raw) >= 32 else None
