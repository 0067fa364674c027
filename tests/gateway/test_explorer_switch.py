"""A gateway on a chain serves the explorer at /explorer/ unless its operator turns it off."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from framemesh.chain.backend import Chain
from framemesh.gateway.app import create_app
from framemesh.gateway.config import GatewayConfig
from framemesh.protocol.network import Protocol


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return Protocol.deploy(Chain.embedded())


@pytest.mark.parametrize("explorer", [True, False])
def test_the_explorer_is_mounted_only_when_wanted(tmp_path: Path, protocol: Protocol, explorer: bool) -> None:
    config = GatewayConfig(data_dir=tmp_path, open=True, explorer=explorer)
    app = create_app(config, protocol=protocol, signer=protocol.chain.accounts[1])
    mounted = [r.path for r in app.routes if isinstance(r, Mount)]
    assert ("/explorer" in mounted) is explorer
    assert config.describe()["explorer"] == ("/explorer/ (public, on a chain)" if explorer else "off")
    if not explorer:  # no lifespan needed to see the route is gone
        answer = TestClient(app).get("/explorer/")
        # (405: the AI API's `POST /{pipeline}` catch-all answers for any other path)
        assert answer.status_code in (404, 405) and "detail" in answer.json()
