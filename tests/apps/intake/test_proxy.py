"""`stopframe intake`'s local server: the page, and only the page's API routes forwarded to a
real registry (X-Case-Pin through, cookies never, problems for what it will not or cannot do)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from tests.apps.intake.live import live_registry
from tests.loopback import free_port, serving
from typer.testing import CliRunner

from stopframe.apps.intake.proxy import MAX_BODY_BYTES, proxy_app
from stopframe.apps.proof_of_work import solve
from stopframe.cli import app as cli_app

PDQ = "f" * 32 + "0" * 32
SHA = "ab" * 32


@pytest.fixture
def registry_url(tmp_path: Path) -> Iterator[str]:
    with live_registry(tmp_path / "data") as url:
        yield url


@pytest.fixture
def proxy(registry_url: str) -> Iterator[TestClient]:
    with TestClient(proxy_app(registry_url)) as client:
        yield client


def open_case(client: TestClient) -> tuple[str, str]:
    """Open a case through `client` the way the page does; returns (case number, PIN)."""
    challenge = client.get("/v1/intake/challenge")
    assert challenge.status_code == 200, challenge.text
    body = challenge.json()
    nonce = solve(body["challenge"], body["difficulty"])
    created = client.post("/v1/intake/cases", json={"challenge": body["challenge"], "nonce": nonce})
    assert created.status_code == 201, created.text
    return created.json()["case_number"], created.json()["pin"]


def test_the_page_is_served_locally(proxy: TestClient) -> None:
    page = proxy.get("/")
    assert page.status_code == 200
    assert 'name="stopframe-api" content="/v1"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert proxy.get("/static/js/main.js").headers["content-type"].startswith("text/javascript")


def test_a_case_is_opened_filled_followed_and_withdrawn_through_it(proxy: TestClient) -> None:
    number, pin = open_case(proxy)
    item = {
        "media": "photo",
        "signals": [
            {"kind": "pdq", "value": PDQ, "quality": 100},
            {"kind": "sha256", "value": SHA, "quality": None},
        ],
    }
    path = f"/v1/cases/{number}/items"
    added = proxy.post(path, json={"items": [item]}, headers={"X-Case-Pin": pin})
    assert added.status_code == 201, added.text
    item_id = added.json()["items"][0]["id"]
    listing = proxy.get(path, headers={"X-Case-Pin": pin})
    assert listing.status_code == 200
    assert listing.json()["items_active"] == 1
    withdrawn = proxy.delete(f"{path}/{item_id}", headers={"X-Case-Pin": pin})
    assert withdrawn.status_code == 200
    assert withdrawn.json()["withdrawn_at"] is not None
    assert proxy.get(path, headers={"X-Case-Pin": pin}).json()["items_withdrawn"] == 1


def test_a_wrong_pin_is_the_registrys_refusal(proxy: TestClient) -> None:
    number, _pin = open_case(proxy)
    refused = proxy.get(f"/v1/cases/{number}/items", headers={"X-Case-Pin": "000000"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/health"),
        ("POST", "/v1/cases"),
        ("GET", "/v1/banks"),
        ("GET", "/v1/lists/snapshot"),
        ("GET", "/v1/audit"),
        ("POST", "/v1/keys"),
        ("GET", "/v1/cases/SF-1/entries"),
        ("GET", "/v1/openapi.json"),
    ],
)
def test_other_registry_routes_are_refused(proxy: TestClient, method: str, path: str) -> None:
    response = proxy.request(method, path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_wrong_method_on_a_page_route_is_never_forwarded() -> None:
    # The registry here is unreachable: a forwarded request would come back as a 502.
    with TestClient(proxy_app(f"http://127.0.0.1:{free_port()}")) as client:
        for method, path in (("DELETE", "/v1/intake/challenge"), ("PUT", "/v1/cases/SF-1/items")):
            response = client.request(method, path)
            assert response.status_code == 404, (method, path)
            assert response.headers["content-type"] == "application/problem+json"


def test_a_body_over_the_limit_is_refused_before_the_registry(proxy: TestClient) -> None:
    response = proxy.post(
        "/v1/cases/SF-1/items",
        content=b"{" + b" " * MAX_BODY_BYTES + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_an_unreachable_registry_is_a_502_problem() -> None:
    with TestClient(proxy_app(f"http://127.0.0.1:{free_port()}")) as client:
        response = client.get("/v1/intake/challenge")
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert "could not be reached" in response.json()["detail"]


def echo_app() -> Starlette:
    """A stand-in registry that shows what reached it and tries to set a cookie."""

    async def echo(request: Request) -> JSONResponse:
        answer = JSONResponse(
            {"headers": dict(request.headers), "body": (await request.body()).decode()},
            headers={"Retry-After": "7", "X-Internal": "secret"},
        )
        answer.set_cookie("tracker", "1")
        return answer

    items = "/v1/cases/{case_number}/items"
    return Starlette(routes=[Route(items, echo, methods=["GET", "POST"])])


def test_only_the_needed_headers_pass_either_way() -> None:
    with serving(echo_app()) as url, TestClient(proxy_app(url)) as client:
        client.cookies.set("session", "abc")
        first = client.post(
            "/v1/cases/SF-1/items",
            json={"items": []},
            headers={"X-Case-Pin": "1234", "X-Other": "no", "Referer": "http://x/"},
        )
        second = client.get("/v1/cases/SF-1/items")
    seen = first.json()["headers"]
    assert seen["x-case-pin"] == "1234"
    assert seen["content-type"] == "application/json"
    for name in ("cookie", "x-other", "referer"):
        assert name not in seen
    assert first.json()["body"] == '{"items":[]}'
    assert first.headers["retry-after"] == "7"
    assert "set-cookie" not in first.headers and "x-internal" not in first.headers
    assert "cookie" not in second.json()["headers"]  # nor kept by the proxy for later


@pytest.mark.parametrize("path", ["/v1/cases/a%2Fb/items", "/v1/cases/SF-1/items/x"])
def test_odd_case_numbers_and_item_ids_are_not_forwarded(proxy: TestClient, path: str) -> None:
    response = proxy.request("DELETE" if path.endswith("/x") else "GET", path)
    assert response.status_code in (404, 405)
    assert response.headers["content-type"] == "application/problem+json"


def test_a_registry_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        proxy_app("ftp://registry.example")


@pytest.mark.parametrize(
    "arguments",
    [
        ["intake", "--registry", "ftp://registry.example"],
        ["intake", "--registry", "http://127.0.0.1:1", "--exit-url", "javascript:alert(1)"],
        ["serve", "--exit-url", "//elsewhere.example/"],
    ],
)
def test_the_commands_refuse_bad_addresses(arguments: list[str]) -> None:
    result = CliRunner().invoke(cli_app, arguments)
    assert result.exit_code == 2
