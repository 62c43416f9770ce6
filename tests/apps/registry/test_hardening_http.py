"""The registry's HTTP surface: security headers on every answer (the mounted page keeps its
own), the Swagger UI off unless asked for, deeply nested JSON imports refused with a clear 4xx,
and uvicorn's connection limits set."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi.testclient import TestClient
from tests.apps.registry.conftest import settings_for_tests
from tests.loopback import free_port

from stopframe.apps.intake.site import CSP as PAGE_CSP
from stopframe.apps.intake.site import page_app
from stopframe.apps.matcher.app import create_app as create_matcher_app
from stopframe.apps.matcher.service import MatchService
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.headers import API_HEADERS
from stopframe.apps.registry.server import KEEP_ALIVE_S, MAX_INCOMPLETE_BYTES, uvicorn_options
from stopframe.apps.registry.state import Registry, open_registry
from stopframe.config import MatcherSettings, RegistrySettings
from stopframe.errors import FormatError
from stopframe.lists.formats import projectvic, stopncii

NESTED = b"[" * 200_000 + b"]" * 200_000  # far deeper than the interpreter's recursion limit
NESTED_OBJECT = b'{"value": ' + NESTED + b"}"


def _assert_api_headers(response_headers: object) -> None:
    for name, value in API_HEADERS.items():
        assert response_headers[name] == value, name  # type: ignore[index]


def test_every_api_answer_carries_the_security_headers(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    answers = [
        client.get("/v1/health"),  # 200
        client.get("/v1/banks"),  # 401, no key
        client.get("/v1/banks/nope", headers=headers["read"]),  # 404 problem
        client.get("/v1/no-such-route"),  # 404 from routing
        client.post(  # refused by the request guard, before any route
            "/v1/cases",
            headers={**headers["submit"], "Content-Type": "application/json"},
            content=b"x" * (2 * 1024 * 1024),
        ),
    ]
    assert [a.status_code for a in answers] == [200, 401, 404, 404, 413]
    for answer in answers:
        _assert_api_headers(answer.headers)


@pytest.fixture
def with_page(registry: Registry) -> Iterator[TestClient]:
    """The registry app with the intake page mounted at /."""
    app = create_app(registry=registry, front=page_app())
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http


def test_the_page_keeps_its_own_policy_and_the_api_gets_its_own(with_page: TestClient) -> None:
    page = with_page.get("/")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == PAGE_CSP  # not replaced by the API's
    assert page.headers.get_list("content-security-policy") == [PAGE_CSP]  # nor doubled
    assert page.headers["x-frame-options"] == "DENY"
    _assert_api_headers(with_page.get("/v1/health").headers)


def test_a_header_a_route_sets_is_kept(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/v1/cases", headers=headers["submit"])
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    _assert_api_headers(created.headers)


def test_swagger_ui_is_off_by_default_and_the_schema_stays(client: TestClient) -> None:
    assert client.get("/v1/docs").status_code == 404
    schema = client.get("/v1/openapi.json")
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "stopframe registry"


def test_swagger_ui_can_be_turned_on(database_url: str, tmp_path: Path) -> None:
    reg = open_registry(settings_for_tests(tmp_path / "data", database_url, docs_ui=True))
    try:
        with TestClient(create_app(registry=reg)) as http:
            docs = http.get("/v1/docs")
            assert docs.status_code == 200 and "swagger" in docs.text.lower()
    finally:
        reg.db.dispose()


@pytest.mark.parametrize("docs_ui", [False, True])
def test_matcher_swagger_ui_follows_its_setting(tmp_path: Path, docs_ui: bool) -> None:
    settings = MatcherSettings(matcher_data_dir=tmp_path / "matcher", matcher_docs_ui=docs_ui)
    service = MatchService(settings, hooks=[])
    try:
        with TestClient(create_matcher_app(service=service)) as http:
            assert http.get("/v1/docs").status_code == (200 if docs_ui else 404)
            assert http.get("/v1/openapi.json").status_code == 200
    finally:
        service.close()


@pytest.mark.parametrize(
    ("parse", "data"), [(projectvic.parse, NESTED_OBJECT), (stopncii.parse, NESTED)]
)
def test_deeply_nested_json_is_a_format_error(parse, data: bytes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError, match="nested"):
        parse(data)


@pytest.mark.parametrize("format_name", ["projectvic-json", "stopncii-json"])
def test_deeply_nested_json_import_is_refused_with_a_4xx(
    client: TestClient,
    headers,  # type: ignore[no-untyped-def]
    format_name: str,
) -> None:
    admin = headers["admin"]
    bank = {"name": "partner", "kinds": ["md5", "sha256"], "verified": True, "action": "block"}
    assert client.post("/v1/banks", headers=admin, json=bank).status_code == 201
    answer = client.post(
        f"/v1/banks/partner/import?format={format_name}",
        content=NESTED,
        headers={**admin, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert "nested too deeply" in answer.json()["detail"]
    assert client.get("/v1/health").status_code == 200  # the service carries on


def test_deeply_nested_json_body_is_a_client_error(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    answer = client.post(
        "/v1/banks",
        content=NESTED[:400_000],
        headers={**headers["admin"], "Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.text  # not a 500


def _exchange(base: str, raw: bytes) -> bytes:
    """Send `raw` on a fresh connection to `base`; everything answered until it is closed."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=20) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@contextmanager
def _served(app: object, settings: RegistrySettings) -> Iterator[str]:
    """Serve `app` on loopback with the registry's uvicorn options (on a free port)."""
    port = free_port()
    options = {**uvicorn_options(settings), "port": port, "log_level": "warning"}
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_the_server_refuses_huge_heads_and_closes_idle_connections(registry: Registry) -> None:
    with _served(create_app(registry=registry), registry.settings) as base:
        huge = b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * (2 * MAX_INCOMPLETE_BYTES)
        refused = _exchange(base, huge)  # a head that never ends is not buffered for ever
        assert refused.startswith(b"HTTP/1.1 400")
        started = time.monotonic()
        kept = _exchange(base, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        waited = time.monotonic() - started
        assert kept.startswith(b"HTTP/1.1 200")
        assert KEEP_ALIVE_S - 1 <= waited <= KEEP_ALIVE_S + 5  # closed by the server, idle
