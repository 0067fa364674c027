"""The explorer's own chain index: contract events into SQLite, and the queries pages serve.

    from framemesh.explorer.index import ChainHistory, Indexer

    indexer = Indexer(protocol, "explorer.sqlite")   # writes (one writer per file)
    await indexer.run()                               # follows the head
    history = ChainHistory("explorer.sqlite")         # reads (any number of readers)
    history.rounds(limit=20)

Modules: `indexer` (chain -> rows), `decode` (logs -> events), `store` (the SQLite file),
`ledger` (events -> state, pure), `earnings` (the pool maths, pure), `clock` (block ->
round, pure), `status` (lag, pure), `history` (queries -> `framemesh.wire.explorer`
models), `errors`.
"""

from .errors import ExplorerIndexError, IndexConflict, IndexMismatch, IndexNotFound, InvalidAddress, UnknownAddress, UnknownRound
from .history import ChainHistory
from .indexer import Indexer

__all__ = ["ChainHistory", "ExplorerIndexError", "IndexConflict", "IndexMismatch", "IndexNotFound", "Indexer", "InvalidAddress", "UnknownAddress", "UnknownRound"]
