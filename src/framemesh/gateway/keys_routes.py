"""API keys over HTTP: the admin API (behind the gateway's admin token) and each
caller's own usage.

    POST   /admin/keys          {name, spend_limit "0.1 ETH/day", rate "5/s", concurrency 4} → the key, shown once
    GET    /admin/keys          every key (never a secret), with its usage
    DELETE /admin/keys/{id}     revoke it: its next request is a 401
    GET    /usage               the caller's own key: requests, units, wei, by kind, its limits
"""

from __future__ import annotations

import asyncio
import time

from fastapi import Depends, FastAPI, Request
from framemesh.gateway.auth import ADMIN, Access, AdminCheck, Caller
from framemesh.gateway.core.keys import ApiKey, KeyStore
from framemesh.gateway.core.limits import parse_rate, parse_spend
from framemesh.net.api_errors import ApiError, documented
from framemesh.net.body import json_body, json_body_doc
from framemesh.wire.keys import KeyCreate, KeyCreated, KeyOut, UsageOut


def key_out(key: ApiKey, keys: KeyStore) -> KeyOut:
    usage = keys.usage(key.id)
    window = keys.usage(key.id, time.time() - key.spend.seconds).wei if key.spend else None
    return KeyOut(
        id=key.id, name=key.name, prefix=key.prefix, created=key.created, revoked=key.revoked,
        spend_limit=str(key.spend) if key.spend else None, rate=key.rate, concurrency=key.concurrency,
        usage=UsageOut(requests=usage.requests, units=usage.units, wei=str(usage.wei),
                       by_kind={k: str(v) for k, v in usage.by_kind.items()},
                       spent_in_window=str(window) if window is not None else None),
    )


def install_key_routes(app: FastAPI, keys: KeyStore, admin_token: str | None, access: Access) -> None:
    admin = [Depends(AdminCheck(admin_token))]

    @app.post("/admin/keys", status_code=201, response_model=KeyCreated, dependencies=admin, tags=["admin"],
              responses={**ADMIN, **documented(413, 422)}, openapi_extra=json_body_doc(KeyCreate))
    async def create_key(request: Request) -> KeyCreated:
        """A new API key with its limits; the key is in this answer only."""
        body = await json_body(request, KeyCreate)
        try:
            spend = parse_spend(body.spend_limit) if body.spend_limit else None
            rate = parse_rate(body.rate) if body.rate else None
        except ValueError as exc:
            raise ApiError(422, "invalid_limit", str(exc)) from exc
        key, secret = await asyncio.to_thread(keys.create, body.name, spend=spend, rate=rate, concurrency=body.concurrency)
        out = await asyncio.to_thread(key_out, key, keys)
        return KeyCreated(**out.model_dump(), key=secret)

    @app.get("/admin/keys", response_model=list[KeyOut], dependencies=admin, tags=["admin"], responses=ADMIN)
    async def list_keys() -> list[KeyOut]:
        return await asyncio.to_thread(lambda: [key_out(k, keys) for k in keys.all()])

    @app.delete("/admin/keys/{key_id}", response_model=KeyOut, dependencies=admin, tags=["admin"],
                responses={**ADMIN, **documented(422)})
    async def revoke_key(key_id: str) -> KeyOut:
        try:
            key = await asyncio.to_thread(keys.revoke, key_id)
        except KeyError as exc:
            raise ApiError(404, "key_not_found", f"no API key with id {key_id!r}") from exc
        return await asyncio.to_thread(key_out, key, keys)

    @app.get("/usage", response_model=KeyOut | None, tags=["admin"], responses=documented(401))
    async def my_usage(caller: Caller = Depends(access.identify)) -> KeyOut | None:
        """The caller's key and what it has used (null for a caller without a key); open to
        a key over its limits, which is when its user needs it most."""
        key = caller.key
        return await asyncio.to_thread(key_out, key, keys) if key is not None else None
