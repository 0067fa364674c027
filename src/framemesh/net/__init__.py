"""Networking shared by the nodes: the one place that builds HTTP clients and runs HTTP servers."""
