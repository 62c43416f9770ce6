"""Authorization matrix: every route of the app × every scope, no key, a revoked key, a wrong PIN.

The route list comes from the app's OpenAPI document, so a new route without an entry here fails.
"""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from stopframe.apps.proof_of_work import solve
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.services import keys
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope

# (method, path) -> scope required (admin passes every check); None = open
MATRIX: dict[tuple[str, str], str | None] = {
    ("get", "/v1/health"): None,
    ("post", "/v1/cases"): "submit",
    ("get", "/v1/cases/{case_number}"): "submit",
    ("get", "/v1/cases/{case_number}/entries"): "submit",
    ("post", "/v1/cases/{case_number}/entries"): "submit",
    ("delete", "/v1/cases/{case_number}/entries/{entry_id}"): "submit",
    ("post", "/v1/cases/{case_number}/items"): None,  # the PIN alone
    ("get", "/v1/cases/{case_number}/items"): None,
    ("delete", "/v1/cases/{case_number}/items/{item_id}"): None,
    ("get", "/v1/intake/challenge"): None,  # anonymous, behind a proof of work
    ("post", "/v1/intake/cases"): None,
    ("get", "/v1/banks"): "read",
    ("post", "/v1/banks"): "admin",
    ("get", "/v1/banks/{bank}"): "read",
    ("post", "/v1/banks/{bank}/import"): "admin",
    ("get", "/v1/banks/{bank}/export"): "read",
    ("delete", "/v1/entries/{entry_id}"): "admin",
    ("get", "/v1/lists/snapshot"): "read",
    ("get", "/v1/lists/changes"): "read",
    ("get", "/v1/keys"): "read",
    ("get", "/v1/keys/rotations"): "read",
    ("post", "/v1/reports"): "report",
    ("post", "/v1/reports/batch"): "report",
    ("get", "/v1/api-keys"): "admin",
    ("post", "/v1/api-keys"): "admin",
    ("delete", "/v1/api-keys/{key_id}"): "admin",
    ("post", "/v1/api-keys/{key_id}/rotate"): "admin",
}
CASE_ROUTES = {key for key in MATRIX if "{case_number}" in key[1]}
ITEM = {
    "items": [
        {"media": "other", "signals": [{"kind": "md5", "value": hashlib.md5(b"x").hexdigest()}]}
    ]
}
CREDENTIALS = [*(s.value for s in Scope), "none", "revoked", "garbage"]


@pytest.fixture
def world(client, headers, new_case):  # type: ignore[no-untyped-def]
    """A case with one entry (and an item holding it), a bank, and a spare key: what the routes'
    parameters point at."""
    number, case = new_case()
    added = client.post(
        f"/v1/cases/{number}/entries",
        headers=case,
        json={"signals": [{"kind": "md5", "value": hashlib.md5(b"x").hexdigest()}]},
    )
    assert added.status_code == 201
    reported = client.post(  # stays active: the matrix withdraws the first, reports take this
        f"/v1/cases/{number}/entries",
        headers=case,
        json={"signals": [{"kind": "md5", "value": hashlib.md5(b"y").hexdigest()}]},
    )
    assert reported.status_code == 201
    item = client.post(f"/v1/cases/{number}/items", headers=case, json=ITEM)
    assert item.status_code == 201
    bank = client.post(
        "/v1/banks", headers=headers["admin"], json={"name": "verified", "kinds": ["pdq"]}
    )
    assert bank.status_code == 201
    return {
        "case_number": number,
        "pin": case["X-Case-PIN"],
        "entry_id": added.json()["entries"][0]["id"],
        "reported_entry_id": reported.json()["entries"][0]["id"],
        "item_id": item.json()["items"][0]["id"],
    }


def request_for(client, headers, world, method: str, path: str):  # type: ignore[no-untyped-def]
    """A well-formed request for the route: (url, keyword arguments for client.request)."""
    spare = client.post(
        "/v1/api-keys", headers=headers["admin"], json={"name": "spare", "scopes": ["read"]}
    )
    url = path.format(
        case_number=world["case_number"],
        entry_id=world["entry_id"],
        item_id=world["item_id"],
        bank="verified",
        key_id=spare.json()["key_id"],
    )
    kwargs: dict = {}
    if path == "/v1/cases/{case_number}/entries" and method == "post":
        kwargs["json"] = {"signals": [{"kind": "sha256", "value": "ab" * 32}]}
    elif path == "/v1/cases/{case_number}/items" and method == "post":
        kwargs["json"] = ITEM
    elif path == "/v1/intake/cases":
        challenge = client.get("/v1/intake/challenge").json()["challenge"]
        kwargs["json"] = {"challenge": challenge, "nonce": solve(challenge, 4)}
    elif path == "/v1/banks" and method == "post":
        kwargs["json"] = {"name": "another", "kinds": ["md5"]}
    elif path == "/v1/banks/{bank}/import":
        url += "?format=threatexchange-text"
        kwargs["content"] = b"pdq " + b"cd" * 32 + b"\n"
        kwargs["headers"] = {"Content-Type": "text/plain"}
    elif path == "/v1/banks/{bank}/export":
        url += "?format=threatexchange-csv"
    elif path == "/v1/reports":
        kwargs["json"] = {
            "entry_id": world["reported_entry_id"],
            "action": "review",
            "matched_at": "2026-11-22T10:00:00Z",
        }
    elif path == "/v1/reports/batch":
        kwargs["json"] = {
            "reports": [
                {
                    "key": "matrix-report-1",
                    "entry_id": world["reported_entry_id"],
                    "action": "log",
                    "matched_at": "2026-11-22T10:00:00Z",
                }
            ]
        }
    elif path == "/v1/api-keys" and method == "post":
        kwargs["json"] = {"name": "new", "scopes": ["read"]}
    return url, kwargs


def test_matrix_covers_every_route(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/v1/openapi.json").json()
    routes = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert routes == set(MATRIX), f"routes without a matrix entry: {routes - set(MATRIX)}"


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_every_route_with_every_credential(client, headers, world, registry, credential) -> None:  # type: ignore[no-untyped-def]
    revoked = client.post(
        "/v1/api-keys",
        headers=headers["admin"],
        json={"name": "old", "scopes": [s.value for s in Scope]},
    ).json()
    assert (
        client.delete(f"/v1/api-keys/{revoked['key_id']}", headers=headers["admin"]).status_code
        == 200
    )
    auth = {
        "none": {},
        "revoked": {"Authorization": f"Bearer {revoked['key']}"},
        "garbage": {"Authorization": "Bearer sfk_000000000000_nope"},
    }.get(credential)
    if auth is None:
        auth = headers[credential]
    for (method, path), required in MATRIX.items():
        url, kwargs = request_for(client, headers, world, method, path)
        sent = {**kwargs.pop("headers", {}), **auth}
        if (method, path) in CASE_ROUTES:
            sent["X-Case-PIN"] = world["pin"]
        response = client.request(method.upper(), url, headers=sent, **kwargs)
        where = (
            f"{method.upper()} {path} with {credential}: "
            f"{response.status_code} {response.text[:200]}"
        )
        assert (
            response.headers["content-type"].startswith(
                "application/problem+json" if response.status_code >= 400 else "application/json"
            )
            or method == "get"
            and path.endswith("/export")
        ), where
        if required is None:
            assert response.status_code in (200, 201), where
        elif credential in ("none", "revoked", "garbage"):
            assert response.status_code == 401, where
        elif credential in (required, "admin"):
            assert response.status_code in (200, 201), where
        else:
            assert response.status_code == 403, where


@pytest.mark.parametrize(("method", "path"), sorted(CASE_ROUTES - {("post", "/v1/cases")}))
def test_case_routes_refuse_a_wrong_or_missing_pin(client, headers, world, method, path) -> None:  # type: ignore[no-untyped-def]
    url, kwargs = request_for(client, headers, world, method, path)
    wrong = "0000000000" if world["pin"] != "0000000000" else "1111111111"
    for pin_headers in ({"X-Case-PIN": wrong}, {}):
        response = client.request(
            method.upper(), url, headers={**headers["submit"], **pin_headers}, **kwargs
        )
        assert response.status_code == 401, response.text
        assert response.json()["detail"] == "case number or PIN is wrong"
    other = url.replace(world["case_number"], "SF-AAAA-AAAA-AAAA")  # unknown case, same answer
    response = client.request(
        method.upper(), other, headers={**headers["submit"], "X-Case-PIN": world["pin"]}, **kwargs
    )
    assert response.status_code == 401
    summary = client.get(
        f"/v1/cases/{world['case_number']}",
        headers={**headers["submit"], "X-Case-PIN": world["pin"]},
    ).json()
    assert summary["entries_active"] == 2 and summary["entries_withdrawn"] == 0  # nothing changed


def test_case_entries_of_another_case_are_invisible(client, world, new_case) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    response = client.delete(f"/v1/cases/{number}/entries/{world['entry_id']}", headers=case)
    assert response.status_code == 404


def test_rate_limits_per_key_and_per_case(registry) -> None:  # type: ignore[no-untyped-def]
    registry.settings.key_burst, registry.settings.key_rate = 3, 0.001
    registry.settings.case_burst, registry.settings.case_rate = 2, 0.001
    limited = Registry(registry.settings, registry.db, registry.keyring)  # fresh buckets
    with TestClient(create_app(registry=limited)) as http:
        with limited.db.write() as session:
            key = keys.create_key(session, "t", [Scope.SUBMIT], "test").key
            other = keys.create_key(session, "t", [Scope.SUBMIT], "test").key
        bearer = {"Authorization": f"Bearer {key}"}
        case = http.post("/v1/cases", headers=bearer).json()
        as_holder = {**bearer, "X-Case-PIN": case["pin"]}
        codes = [
            http.get(f"/v1/cases/{case['case_number']}", headers=as_holder).status_code
            for _ in range(2)
        ]
        assert codes == [200, 200]
        limited_key = http.post("/v1/cases", headers=bearer)  # the key's 4th request
        assert limited_key.status_code == 429 and "API key" in limited_key.json()["detail"]
        response = http.get(
            f"/v1/cases/{case['case_number']}",  # the case's 3rd, from another key
            headers={"Authorization": f"Bearer {other}", "X-Case-PIN": case["pin"]},
        )
        assert response.status_code == 429 and "case" in response.json()["detail"]
        assert int(response.headers["Retry-After"]) >= 1
