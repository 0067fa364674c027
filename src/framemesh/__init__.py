"""framemesh: an open, decentralized network for AI video."""

__version__ = "0.1.0"
