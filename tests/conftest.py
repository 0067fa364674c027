"""Suite-wide settings.

`scripts/test` installs every optional package and sets FRAMEMESH_REQUIRE_AI: then a
test that would skip for a missing package fails instead, so CI can't pass by
silently skipping the AI tests.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

if os.environ.get("FRAMEMESH_REQUIRE_AI"):

    def _require(modname: str, minversion: str | None = None, reason: str | None = None, **_: object) -> ModuleType:
        return importlib.import_module(modname)

    pytest.importorskip = _require  # type: ignore[assignment]


@pytest.fixture(scope="session")
def s3_server():  # type: ignore[no-untyped-def]
    """One SeaweedFS S3 server for the whole run (tests/s3_server.py); tests make their own buckets."""
    from tests.s3_server import seaweed_s3

    yield from seaweed_s3()
