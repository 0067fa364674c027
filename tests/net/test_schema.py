"""Request bodies in the OpenAPI document carry their nested models inline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from framemesh.gateway.app import create_app
from framemesh.gateway.config import GatewayConfig
from framemesh.net.schema import inline_schema


class Inner(BaseModel):
    role: str


class Outer(BaseModel):
    messages: list[Inner]
    first: Inner | None = None


class Loop(BaseModel):
    child: "Loop | None" = None


def test_nested_models_are_inlined() -> None:
    schema = inline_schema(Outer)
    assert "$defs" not in json.dumps(schema)
    assert schema["properties"]["messages"]["items"]["properties"]["role"]["type"] == "string"
    assert Outer.model_json_schema()["$defs"], "pydantic does put them apart: the function is needed"


def test_a_model_that_refers_to_itself_is_refused_not_looped() -> None:
    with pytest.raises(ValueError, match="refers to itself"):
        inline_schema(Loop)


def test_the_gateways_document_has_no_reference_it_cannot_resolve(tmp_path: Path) -> None:
    with TestClient(create_app(GatewayConfig(data_dir=tmp_path, open=True))) as client:
        spec = client.get("/openapi.json").json()
    assert "#/$defs/" not in json.dumps(spec)
    body = spec["paths"]["/llm"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["messages"]["items"]["required"] == ["role", "content"]
