"""Request bodies of the matcher's API as pydantic models, for its OpenAPI document.

The routes read and check their JSON themselves (their error answers name the bad item), so a
model here documents the accepted shape; `request_body` gives it to a route's `openapi_extra`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field


class SignalIn(BaseModel):
    """One hash to match: its kind (a signal type's name or alias, e.g. pdq, md5) and value."""

    kind: str
    value: str
    quality: Annotated[int | None, Field(ge=0, le=100)] = None


class HashesIn(BaseModel):
    """A batch of hashes to match, and the platform's id of the upload they came from."""

    signals: Annotated[list[SignalIn], Field(min_length=1)]
    content_id: Annotated[str | None, Field(max_length=256)] = None


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAPI requestBody of `model` as JSON, its definitions written in place (a route's
    `openapi_extra` adds no components for them to refer to)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return {"required": True, "content": {"application/json": {"schema": resolve(schema)}}}
