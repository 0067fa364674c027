"""Who may use the gateway: with an API token configured, every route that spends the
gateway's deposit, shows its jobs or its orchestrators asks for
`Authorization: Bearer TOKEN` (Livepeer's scheme, HTTPBearer).

Open whatever the token: the health probes, the API description, and the outputs
under /outputs/ (players and browsers fetch those without headers; each lives under
a random 64-bit job id that only its client was told).
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from framemesh.net.api_errors import ApiError

BEARER = HTTPBearer(auto_error=False)


class TokenCheck:
    """A FastAPI dependency: refuse a request without the token (when there is one)."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    def __call__(self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> None:
        if not self.token:
            return
        given = credentials.credentials if credentials is not None else ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>' with this gateway's API token",
                           headers={"WWW-Authenticate": "Bearer"})
