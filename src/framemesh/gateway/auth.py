"""Who may use the gateway, and within which limits.

Every route that spends the gateway's deposit or shows its jobs, streams and
orchestrators takes `Authorization: Bearer <API key>` (Livepeer's scheme,
HTTPBearer). A key is created with limits (`core.keys`, `framemesh keys api create`):

- a missing, unknown or revoked key: 401;
- over its spend limit (wei per period, from its accounted usage): 402, saying when
  enough of the earlier spending leaves the window;
- over its rate (a token bucket) or its concurrency (requests at once): 429 with
  Retry-After.

The operator's shared `api_token`, if set, is accepted too (no limits, not per user).
Only a gateway started `--open` serves callers without a key. The admin API takes
the `admin_token`. Open whatever the settings: the health probes, the API
description, /outputs/ and live playback (players send no headers; their ids are
random secrets only their client was told).
"""

from __future__ import annotations

import asyncio
import hmac
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from framemesh.gateway.core.keys import ApiKey, KeyStore
from framemesh.gateway.core.limits import TokenBucket, rate_text
from framemesh.net.api_errors import ApiError, documented

BEARER = HTTPBearer(auto_error=False)
ANONYMOUS = ""  # the line's key for callers without an API key
# What every route behind `Access` may answer before its own work (its OpenAPI `responses=`).
GUARDED = documented(401, 402, 429)
# The admin API's: a wrong token, or no admin API at all.
ADMIN = documented(401, 404)


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None  # None: an open gateway, or the operator's token

    @property
    def id(self) -> str:
        return self.key.id if self.key is not None else ANONYMOUS

    @property
    def operator(self) -> bool:
        """The gateway's operator (its token, or anyone on an open gateway), not a key's user."""
        return self.key is None

    @property
    def owner(self) -> str | None:
        """Whose jobs the caller lists: its key's, or everyone's."""
        return self.key.id if self.key is not None else None


def _unauthorized(msg: str) -> ApiError:
    return ApiError(401, "unauthorized", msg, headers={"WWW-Authenticate": "Bearer"})


def _same(given: str, secret: str | None) -> bool:
    return bool(secret) and hmac.compare_digest(given.encode(), str(secret).encode())


class Access:
    """The FastAPI dependency every guarded route takes; it yields the `Caller` (also
    put on `request.state.caller`) and holds its concurrency slot for the request."""

    def __init__(self, keys: KeyStore, *, open: bool, token: str | None = None, admin_token: str | None = None) -> None:
        self.keys = keys
        self.open = open
        self.token = token
        self.admin_token = admin_token
        self._buckets: dict[str, TokenBucket] = {}
        self.in_flight: dict[str, int] = {}

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
    ) -> AsyncIterator[Caller]:
        given = credentials.credentials if credentials is not None else ""
        caller = await self._caller(given)
        request.state.caller = caller
        key = caller.key
        if key is None:
            yield caller
            return
        await self._within_limits(key)
        self.in_flight[key.id] = self.in_flight.get(key.id, 0) + 1
        try:
            yield caller
        finally:
            self.in_flight[key.id] -= 1

    async def identify(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
    ) -> Caller:
        """Who calls, without its limits: for routes that spend nothing (a key over its
        limit may still read its usage)."""
        caller = await self._caller(credentials.credentials if credentials is not None else "")
        request.state.caller = caller
        return caller

    async def _caller(self, given: str) -> Caller:
        if given:
            key = await asyncio.to_thread(self.keys.find, given)
            if key is not None:
                if key.revoked is not None:
                    raise _unauthorized(f"API key {key.prefix}… ({key.name}) was revoked")
                return Caller(key)
            if _same(given, self.token) or _same(given, self.admin_token):
                return Caller(None)
            raise _unauthorized("unknown API key: send 'Authorization: Bearer <your API key>'")
        if self.open:
            return Caller(None)
        raise _unauthorized("this gateway needs an API key: send 'Authorization: Bearer <your API key>'")

    async def _within_limits(self, key: ApiKey) -> None:
        now = time.time()
        if key.spend is not None:
            spent, leaves = await asyncio.to_thread(self._window, key.id, now - key.spend.seconds, key.spend.wei)
            if leaves is not None:
                resets = leaves + key.spend.seconds
                raise ApiError(
                    402, "spend_limit",
                    f"API key {key.name} spent {spent} wei of its {key.spend} limit; it may spend again from "
                    f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(resets))}, when enough of it leaves the period",
                    extra={"spent": str(spent), "limit": str(key.spend.wei), "resets_at": resets},
                    headers={"Retry-After": str(max(1, math.ceil(resets - now)))},
                )
        if key.concurrency is not None and self.in_flight.get(key.id, 0) >= key.concurrency:
            raise ApiError(429, "too_many_at_once",
                           f"API key {key.name} may run {key.concurrency} requests at once; one must end first",
                           headers={"Retry-After": "1"})
        if key.rate is not None:
            bucket = self._buckets.setdefault(key.id, TokenBucket(key.rate))
            wait = bucket.take(time.monotonic())
            if wait > 0:
                raise ApiError(429, "rate_limit",
                               f"API key {key.name} may make {rate_text(key.rate)} requests; retry in {wait:.1f} s",
                               headers={"Retry-After": str(max(1, math.ceil(wait)))})

    async def claim(self, caller: Caller, kind: str, job_id: str) -> None:
        """Make a new job the caller's key's (before it starts: its work is charged to it)."""
        if caller.key is not None:
            await asyncio.to_thread(self.keys.claim, caller.key.id, kind, job_id)

    async def sees(self, caller: Caller, job_id: str) -> bool:
        """A caller with a key sees its own jobs only (another's is a 404, as if it did not
        exist); the operator's token and an open gateway see them all."""
        if caller.key is None:
            return True
        return await asyncio.to_thread(self.keys.owner, job_id) == caller.key.id

    def _window(self, key_id: str, since: float, limit: int) -> tuple[int, float | None]:
        return self.keys.usage(key_id, since).wei, self.keys.under_limit_at(key_id, since, limit)


class AdminCheck:
    """The admin API's dependency: the admin token, or 404 when the gateway has none."""

    def __init__(self, admin_token: str | None) -> None:
        self.admin_token = admin_token

    def __call__(self, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> None:
        if not self.admin_token:
            raise ApiError(404, "no_admin_api", "this gateway has no admin API: start it with --admin-token")
        if not _same(credentials.credentials if credentials is not None else "", self.admin_token):
            raise _unauthorized("the admin API takes the gateway's admin token")


def operator_only(request: Request) -> None:
    """For a guarded route that shows the operator's business (its payments): a key's user gets a 403."""
    if not caller_of(request).operator:
        raise ApiError(403, "operator_only", "this shows the gateway operator's own figures: call it with the operator's token")


def caller_of(request: Request) -> Caller:
    """The caller a guarded route's dependency found."""
    return getattr(request.state, "caller", None) or Caller(None)
