"""The SDK sends the gateway's API token: given, or from $FRAMEMESH_API_TOKEN."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from framemesh.gateway.app import create_app
from framemesh.gateway.config import GatewayConfig
from framemesh.net.server import ServerThread
from framemesh.sdk.client import TOKEN_ENV, GatewayClient, GatewayRequestError


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = GatewayConfig(data_dir=tmp_path_factory.mktemp("gw"), api_token="s3cret")
    with ServerThread(create_app(config)) as server:
        yield server.url


async def test_without_the_token_the_gateway_says_401(gateway: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    async with GatewayClient(gateway) as client:
        with pytest.raises(GatewayRequestError) as refused:
            await client.ai_jobs()
    assert refused.value.status == 401 and refused.value.code == "unauthorized"


async def test_the_token_given_or_from_the_environment(gateway: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    async with GatewayClient(gateway, token="s3cret") as client:
        assert await client.ai_jobs() == []
    monkeypatch.setenv(TOKEN_ENV, "s3cret")
    async with GatewayClient(gateway) as client:
        assert await client.ai_jobs() == []
