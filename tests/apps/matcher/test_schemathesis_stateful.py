"""Stateful fuzzing of the matcher (Schemathesis' state machine over its OpenAPI document,
in-process over ASGI) with one key that may match and administer: sequences of matches, decision
and quarantine reads, releases and webhook retries never get a 5xx, on a list holding the sample
pictures and a flood limit low enough for repeated matches to quarantine entries. The document
declares no links, so the test adds those from a match to the operator's views of it; bounded
to a few scenarios so the run stays well under a minute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from tests.apps.matcher.conftest import Picture, sync_partner, write_list

from stopframe.apps.matcher.app import create_app
from stopframe.apps.matcher.keys import create_key
from stopframe.apps.matcher.service import MatchService
from stopframe.config import MatcherSettings

SCENARIOS = 10
STEPS = 8
# (method, path) of a match -> the operator's views it feeds, all from a 200 answer.
LINKS = {
    ("post", "/v1/match/hashes"): [
        ("get", "/v1/admin/decisions"),
        ("get", "/v1/admin/quarantine"),
        ("post", "/v1/admin/quarantine/{entry}/release"),
    ],
}


def with_links(spec: dict[str, Any], listed: list[tuple[str, str]]) -> dict[str, Any]:
    """The OpenAPI document with `LINKS` declared on the 200 answers they start from, and a body
    for /v1/match/hashes (the route reads its JSON itself) drawn from the `listed` signals."""
    signal = {
        "oneOf": [
            {
                "type": "object",
                "properties": {"kind": {"const": kind}, "value": {"const": value}},
                "required": ["kind", "value"],
                "additionalProperties": False,
            }
            for kind, value in listed
        ]
    }
    body = {
        "type": "object",
        "properties": {"signals": {"type": "array", "items": signal, "minItems": 1, "maxItems": 3}},
        "required": ["signals"],
        "additionalProperties": False,
    }
    spec["paths"]["/v1/match/hashes"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": body}},
    }
    for (method, path), targets in LINKS.items():
        response = spec["paths"][path][method]["responses"]["200"]
        response["links"] = {
            f"{target_method}{target_path}".replace("/", "_"): {
                "operationId": spec["paths"][target_path][target_method]["operationId"],
                "parameters": {"path.entry": "1"} if "{entry}" in target_path else {},
            }
            for target_method, target_path in targets
        }
    return spec


def test_no_sequence_of_calls_answers_5xx(tmp_path: Path, pictures: list[Picture]) -> None:
    data_dir = tmp_path / "matcher"
    listed = [("pdq", p.pdq) for p in pictures[:2]] + [("md5", pictures[0].md5)]
    sync_partner(data_dir, write_list(tmp_path / "partner.txt", listed))
    service = MatchService(MatcherSettings(matcher_data_dir=data_dir, flood_limit=2), hooks=[])
    app = create_app(service=service)
    auth = {"Authorization": f"Bearer {create_key(service.state, ['match', 'admin'], 'fuzz')}"}
    failures: list[str] = []
    seen: dict[str, int] = {}
    try:
        with TestClient(app):  # runs the lifespan (the index follower)
            schema = schemathesis.openapi.from_dict(with_links(app.openapi(), listed))
            schema.app = app

            class Matcher(schema.as_state_machine()):  # type: ignore[misc]
                def before_call(self, case: Any) -> None:
                    case.headers = {**(case.headers or {}), **auth}

                def validate_response(
                    self, response: Any, case: Any, *args: Any, **kwargs: Any
                ) -> None:
                    label = f"{case.operation.label} {response.status_code}"
                    seen[label] = seen.get(label, 0) + 1
                    if response.status_code >= 500:
                        failures.append(f"{response.status_code}: {case.as_curl_command()}")

            Matcher.run(
                settings=settings(
                    max_examples=SCENARIOS,
                    stateful_step_count=STEPS,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
            )
    finally:
        service.close()
    assert not failures, "\n".join(failures[:10])
    assert sum(n for label, n in seen.items() if label.endswith(" 200")) > 10, seen
