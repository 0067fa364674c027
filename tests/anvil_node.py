"""A real anvil node for the tests that need one (shared by tests/cli and tests/e2e)."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from framemesh.chain.anvil import Anvil, find_anvil


def anvil_node() -> Iterator[Anvil]:
    """Start anvil for a test module; skip only when it is absent and not required."""
    if find_anvil() is None:
        if os.environ.get("FRAMEMESH_REQUIRE_ANVIL"):
            pytest.fail("FRAMEMESH_REQUIRE_ANVIL is set but no anvil binary was found (run scripts/install-anvil)")
        pytest.skip("no anvil binary (run scripts/install-anvil)")
    with Anvil.start() as node:
        yield node
