"""A request body's JSON schema fit for an OpenAPI document.

Pydantic puts nested models under the schema's own `$defs` and refers to them as
`#/$defs/Name`; inside an OpenAPI document such a reference is read from the
document's root, where there is no `$defs`, so clients (and fuzzers) cannot resolve
it. Bodies given by hand (`openapi_extra`) therefore carry their nested models inline.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema with every `#/$defs/...` reference replaced by its definition."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name in seen:
                    raise ValueError(f"{model.__name__}: {name} refers to itself; it cannot be inlined")
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**resolve(defs[name], (*seen, name)), **resolve(rest, seen)}
            return {k: resolve(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v, seen) for v in node]
        return node

    return resolve(schema)  # type: ignore[no-any-return]
