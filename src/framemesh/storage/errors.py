"""The object store's errors (the hierarchy is drawn in the package's docstring)."""

from __future__ import annotations


class StoreError(Exception):
    """The object store could not do what was asked (a missing object, a refused request)."""


class StoreUnreachable(StoreError):
    """The object store did not answer, or failed on its side: the same request may work later."""
