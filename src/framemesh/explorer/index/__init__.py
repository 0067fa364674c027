"""The explorer's own chain index: contract events into SQLite, and the queries pages serve.

    from framemesh.explorer.index import ChainHistory, Indexer

    indexer = Indexer(protocol, "explorer.sqlite")   # writes (one writer per file)
    await indexer.run()                               # follows the head
    history = ChainHistory("explorer.sqlite")         # reads (any number of readers)
    history.rounds(limit=20)

Modules: `indexer` (chain -> rows), `store` (the SQLite schema and writes), `history`
(read queries -> `framemesh.wire.explorer` models), `earnings` (the pool maths, pure),
`errors`.
"""

from .errors import ExplorerIndexError, IndexMismatch, IndexNotFound, UnknownAddress, UnknownRound
from .history import ChainHistory
from .indexer import Indexer

__all__ = ["ChainHistory", "ExplorerIndexError", "IndexMismatch", "IndexNotFound", "Indexer", "UnknownAddress", "UnknownRound"]
