"""Errors of the explorer's index.

    ExplorerIndexError
    ├── IndexNotFound      the SQLite file does not exist yet (start the indexer)
    ├── IndexMismatch      the file indexes another chain or deployment
    ├── IndexConflict      a batch does not follow the cursor (another indexer writes the file)
    ├── InvalidAddress     not an address at all (HTTP 400)
    ├── UnknownAddress     no orchestrator / delegator / gateway at that address (HTTP 404)
    └── UnknownRound       the round was not initialized, or is not indexed yet (HTTP 404)
"""

from __future__ import annotations


class ExplorerIndexError(Exception):
    """Root of the index's errors."""


class IndexNotFound(ExplorerIndexError):
    def __init__(self, path: str) -> None:
        super().__init__(f"no explorer index at {path}: start the indexer (it creates the file) or check the path")
        self.path = path


class IndexMismatch(ExplorerIndexError):
    """The file was made for another chain or deployment: use another file, or delete it to re-index."""


class IndexConflict(ExplorerIndexError):
    """A batch that does not start right after the cursor: it would leave a gap or
    write rows twice. Two indexers on one file do this; run one per file."""


class UnknownAddress(ExplorerIndexError):
    def __init__(self, kind: str, address: str) -> None:
        super().__init__(f"no {kind} {address} in the index (it has no {kind} events up to the indexed block)")
        self.kind = kind
        self.address = address


class UnknownRound(ExplorerIndexError):
    def __init__(self, number: int) -> None:
        super().__init__(f"round {number} is not in the index (not initialized, or not indexed yet)")
        self.number = number


class InvalidAddress(ExplorerIndexError):
    def __init__(self, text: str) -> None:
        super().__init__(f"{text!r} is not an address: give 0x followed by 40 hex digits")
        self.text = text
