"""The client side of the gateway's public API, for applications and the CLI."""

from framemesh.sdk.client import GatewayClient, GatewayRequestError

__all__ = ["GatewayClient", "GatewayRequestError"]
