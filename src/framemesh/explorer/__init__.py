"""The explorer: a web page of the network's state, fed by its own chain indexer.

- `framemesh.explorer.index`: the indexer (contract events into SQLite) and
  `ChainHistory`, the read queries the pages serve (models in `framemesh.wire.explorer`).
"""
