"""The matcher's OpenAPI document describes the body POST /v1/match/hashes takes: the batches
the route accepts fit its schema and the shapes it refuses do not."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi import FastAPI

from stopframe.apps.matcher.routes import match

MD5 = {"kind": "md5", "value": "0" * 32}


def body_schema() -> dict[str, Any]:
    """The request body schema the document declares for POST /v1/match/hashes."""
    app = FastAPI()
    app.include_router(match.router, prefix="/v1")
    body = app.openapi()["paths"]["/v1/match/hashes"]["post"]["requestBody"]
    assert body["required"] is True
    return body["content"]["application/json"]["schema"]


@pytest.mark.parametrize(
    "accepted",
    [
        {"signals": [MD5]},
        {"signals": [MD5, {"kind": "pdq", "value": "f" * 64, "quality": 90}], "content_id": "u1"},
        {"signals": [{**MD5, "quality": None}], "content_id": None},
    ],
)
def test_accepted_batches_fit_the_declared_schema(accepted: dict[str, Any]) -> None:
    jsonschema.validate(accepted, body_schema())


@pytest.mark.parametrize(
    "refused",
    [
        {"signals": []},
        {"signal": [MD5]},
        [],
        {"signals": [{"kind": "pdq"}]},
        {"signals": [MD5], "content_id": 7},
        {"signals": [MD5], "content_id": "x" * 257},
    ],
)
def test_refused_batches_do_not_fit_it(refused: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(refused, body_schema())
