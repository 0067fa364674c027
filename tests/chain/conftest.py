"""Fixtures for the chain suite: every conformance test runs on every backend.

`chain` is parametrized over ``embedded`` (py-evm in process), ``served`` (the
embedded chain behind `framemesh chain serve`'s JSON-RPC server, on a thread on a
free loopback port, reached over HTTP like anvil) and ``anvil`` (a real anvil
process, started for the test and stopped after it).  The anvil case is skipped
only when no anvil binary exists and ``FRAMEMESH_REQUIRE_ANVIL`` is not set; CI sets
it after running ``scripts/install-anvil``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from framemesh.chain.anvil import Anvil, find_anvil
from framemesh.chain.backend import Chain
from framemesh.chain.compile import Artifact, compile_source
from framemesh.chain.keys import Signer
from framemesh.chain.rpc_server import RpcServer

CONTRACTS = Path(__file__).parent / "contracts"
PROBE = CONTRACTS / "Probe.vy"
ZERO = "0x" + "00" * 20


def anvil_or_skip() -> None:
    if find_anvil() is None:
        if os.environ.get("FRAMEMESH_REQUIRE_ANVIL"):
            pytest.fail("FRAMEMESH_REQUIRE_ANVIL is set but no anvil binary was found (run scripts/install-anvil)")
        pytest.skip("no anvil binary (run scripts/install-anvil; set FRAMEMESH_REQUIRE_ANVIL to make this a failure)")


@pytest.fixture(scope="session", autouse=True)
def _compile_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the suite's compiled artifacts out of the user's cache."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRAMEMESH_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture(scope="session")
def probe_artifact(_compile_cache: Path) -> Artifact:
    return compile_source(PROBE)


@pytest.fixture
def anvil() -> Iterator[Anvil]:
    anvil_or_skip()
    with Anvil.start() as node:
        yield node


@contextmanager
def served_chain() -> Iterator[RpcServer]:
    """A fresh embedded chain served over JSON-RPC on a thread; closed after."""
    server = RpcServer("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(params=["embedded", "served", "anvil"])
def chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    if request.param == "embedded":
        yield Chain.embedded()
        return
    if request.param == "served":
        with served_chain() as server:
            yield Chain.connect(server.url)
        return
    anvil_or_skip()
    with Anvil.start() as node:
        yield Chain.connect(node.url)


@pytest.fixture
def deployer(chain: Chain) -> Signer:
    return chain.accounts[0]


@pytest.fixture
def funded_key(chain: Chain, deployer: Signer) -> Signer:
    """A fresh local-key account holding 10 ETH."""
    signer = Signer.from_key(os.urandom(32))
    chain.send_eth(signer, 10 * 10**18, deployer)
    return signer
