"""The explorer: a web page of the network's state, fed by its own chain indexer.

- `framemesh.explorer.index`: the indexer (contract events into SQLite) and
  `ChainHistory`, the read queries the pages serve (models in `framemesh.wire.explorer`).
- `app`, `pages`, `views`, `sources`, `sse`: the server-rendered pages, their JSON twins
  and live updates, from the index, the orchestrators' public endpoints and a gateway.
- `service`: the explorer put together (`framemesh explorer`, or mounted by a gateway);
  `metrics`: its index's metrics.
"""
