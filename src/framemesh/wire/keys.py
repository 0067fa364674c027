"""The gateway's API keys over HTTP: the admin API's bodies and each caller's usage."""

from __future__ import annotations

from pydantic import BaseModel, Field


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    spend_limit: str | None = Field(None, description="Wei per period, e.g. '0.1 ETH/day', '5e15 wei/hour'.")
    rate: str | None = Field(None, description="Requests per period, e.g. '5/s', '100/min'.")
    concurrency: int | None = Field(None, ge=1, le=10_000, description="Requests at once.")


class UsageOut(BaseModel):
    requests: int = Field(description="Pieces of work delivered: AI requests and stages, segments.")
    units: int = Field(description="Their units: AI pipeline units, LLM tokens, output pixels of video.")
    wei: str = Field(description="What they cost, in wei (a decimal string: it outgrows 64 bits).")
    by_kind: dict[str, str] = Field(description="Wei per kind of work: transcode, ai, llm, live.")
    spent_in_window: str | None = Field(None, description="Wei within the spend limit's period, when it has one.")


class KeyOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    created: float
    revoked: float | None
    spend_limit: str | None
    rate: float | None = Field(description="Requests per second.")
    concurrency: int | None
    usage: UsageOut | None = None


class KeyCreated(KeyOut):
    key: str = Field(description="The API key. Shown once: the gateway keeps only its digest.")
