"""The structured request log: one JSON line per request with the route template, status,
duration, size and a request id, and none of a request's secrets: no PIN, no key, no case number,
no hash, no query string."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from stopframe.apps import request_log


class Lines(logging.Handler):
    """Keep the formatted lines written to the request log."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged() -> Iterator[list[str]]:
    """The request log's lines while the test runs."""
    handler = Lines()
    logger = logging.getLogger(request_log.LOGGER)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def test_a_request_with_secrets_logs_none_of_them(client, new_case, logged) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    key = case["Authorization"].removeprefix("Bearer ")
    pin = case["X-Case-PIN"]
    value = hashlib.sha256(b"benign request log test").hexdigest()
    logged.clear()
    answer = client.post(
        f"/v1/cases/{number}/entries?note={value[:12]}",
        headers=case,
        json={"signals": [{"kind": "sha256", "value": value}]},
    )
    assert answer.status_code == 201, answer.text
    assert len(logged) == 1
    text = logged[0]
    for secret in (number, pin, key, key[:12], value, value[:12], "note", "testclient"):
        assert secret not in text, secret
    line = json.loads(text)
    assert set(line) == {"time", "id", "method", "route", "status", "ms", "bytes"}
    assert line["method"] == "POST"
    assert line["route"] == "/v1/cases/{case_number}/entries"
    assert line["status"] == 201
    assert line["bytes"] == len(answer.content)
    assert line["ms"] >= 0
    assert answer.headers["x-request-id"] == line["id"]


def test_unrouted_and_refused_requests_are_logged_without_their_path(client, logged) -> None:  # type: ignore[no-untyped-def]
    client.get("/v1/cases/SECRET-NUMBER-123")  # no key: refused by the route's dependency
    client.get("/v1/no/such/SECRET-PATH")
    client.request("SECRETMETHOD", "/v1/health")
    lines = [json.loads(text) for text in logged]
    assert [line["route"] for line in lines] == ["/v1/cases/{case_number}", None, "/v1/health"]
    assert [line["status"] for line in lines][:2] == [401, 404]
    assert lines[2]["method"] == "OTHER"
    assert "SECRET" not in "".join(logged)


def test_a_failing_route_is_logged_as_a_500() -> None:
    app = FastAPI()

    @app.get("/boom/{thing}")
    def boom(thing: str) -> None:
        raise RuntimeError(thing)

    request_log.install(app)
    handler = Lines()
    logging.getLogger(request_log.LOGGER).addHandler(handler)
    try:
        with TestClient(app, raise_server_exceptions=False) as http:
            assert http.get("/boom/SECRET").status_code == 500
    finally:
        logging.getLogger(request_log.LOGGER).removeHandler(handler)
    (line,) = [json.loads(text) for text in handler.lines]
    assert (line["route"], line["status"]) == ("/boom/{thing}", 500)
