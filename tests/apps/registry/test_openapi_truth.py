"""The OpenAPI document tells the truth about success statuses: every operation is driven here
through the app as clients use it, and each status below 400 it answers is one the document
declares for that operation (a client generated from the document would otherwise reject it)."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stopframe.apps.proof_of_work import solve
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.state import Registry

Answered = dict[tuple[str, str], set[int]]  # (method, path template) -> statuses seen


# Answered but not yet declared, each to be fixed where its route is declared (then removed here)
def templates(document: dict[str, Any]) -> list[tuple[str, re.Pattern[str]]]:
    """Each path template of the document with a regex of the paths it stands for (literal
    templates first, so /v1/keys/rotations is not taken for a parameter)."""
    paths = sorted(document["paths"], key=lambda p: (p.count("{"), p))
    return [(p, re.compile(re.sub(r"\{[^}]+\}", "[^/]+", p))) for p in paths]


class Recorder:
    """ASGI wrapper noting each answered status by method and path template."""

    def __init__(self, app: ASGIApp, paths: list[tuple[str, re.Pattern[str]]]) -> None:
        self.app = app
        self.paths = paths
        self.answered: Answered = defaultdict(set)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        template = next((t for t, rx in self.paths if rx.fullmatch(scope.get("path", ""))), None)

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start" and template:
                self.answered[(scope["method"].lower(), template)].add(message["status"])
            await send(message)

        await self.app(scope, receive, noting)


@pytest.fixture
def recorded(registry: Registry) -> Iterator[tuple[TestClient, Recorder, dict[str, Any]]]:
    """A client of the registry app whose answers are recorded, and the app's document."""
    app = create_app(registry=registry)
    document = app.openapi()
    recorder = Recorder(app, templates(document))
    with TestClient(recorder, raise_server_exceptions=False) as http:
        yield http, recorder, document


def sha256(n: int) -> dict[str, str]:
    """A benign sha256 signal."""
    return {"kind": "sha256", "value": hashlib.sha256(f"truth-{n}".encode()).hexdigest()}


def drive(client: TestClient, headers: dict[str, dict[str, str]]) -> None:
    """Call every operation of the API at least once, as its clients do, and its alternative
    success answers too (200 for a submission that adds nothing)."""
    admin, read, report = headers["admin"], headers["read"], headers["report"]
    assert client.get("/v1/health").status_code == 200
    created = client.post("/v1/cases", headers=headers["submit"]).json()
    number, case = created["case_number"], {**headers["submit"], "X-Case-PIN": created["pin"]}
    entries_url = f"/v1/cases/{number}/entries"
    added = client.post(entries_url, headers=case, json={"signals": [sha256(1), sha256(2)]})
    assert (
        client.post(entries_url, headers=case, json={"signals": [sha256(1)]}).json()["added"] == 0
    )
    ids = [e["id"] for e in added.json()["entries"]]
    client.get(f"/v1/cases/{number}", headers=case)
    client.get(entries_url, headers=case)
    client.delete(f"{entries_url}/{ids[1]}", headers=case)
    items = {"items": [{"media": "photo", "signals": [sha256(3)]}]}
    item = client.post(f"/v1/cases/{number}/items", headers=case, json=items).json()["items"][0]
    client.post(f"/v1/cases/{number}/items", headers=case, json=items)
    client.get(f"/v1/cases/{number}/items", headers=case)
    client.delete(f"/v1/cases/{number}/items/{item['id']}", headers=case)
    challenge = client.get("/v1/intake/challenge").json()
    nonce = solve(challenge["challenge"], challenge["difficulty"])
    client.post("/v1/intake/cases", json={"challenge": challenge["challenge"], "nonce": nonce})
    client.post("/v1/banks", headers=admin, json={"name": "partner", "kinds": ["sha256"]})
    client.get("/v1/banks", headers=read)
    client.get("/v1/banks/partner", headers=read)
    csv = "signal_type,signal\n" + "".join(f"sha256,{sha256(n)['value']}\n" for n in (4, 5))
    client.post(
        "/v1/banks/partner/import?format=threatexchange-csv",
        headers={**admin, "Content-Type": "text/csv"},
        content=csv,
    )
    client.get("/v1/banks/partner/export?format=threatexchange-csv", headers=admin)
    listed = client.get("/v1/lists/snapshot", headers=read).json()["payload"]["entries"]
    client.get("/v1/lists/changes?after=0", headers=read)
    client.get("/v1/keys", headers=read)
    client.get("/v1/keys/rotations", headers=read)
    seen = {"entry_id": listed[0]["id"], "action": "block", "matched_at": "2026-01-01T00:00:00Z"}
    client.post("/v1/reports", headers=report, json=seen)
    client.post("/v1/reports/batch", headers=report, json={"reports": [{**seen, "key": "k" * 8}]})
    client.delete(f"/v1/entries/{listed[-1]['id']}", headers=admin)
    client.get("/v1/api-keys", headers=admin)
    key = client.post("/v1/api-keys", headers=admin, json={"name": "spare", "scopes": ["read"]})
    rotated = client.post(f"/v1/api-keys/{key.json()['key_id']}/rotate", headers=admin)
    client.delete(f"/v1/api-keys/{rotated.json()['key_id']}", headers=admin)


def test_every_success_status_answered_is_declared(recorded, headers) -> None:  # type: ignore[no-untyped-def]
    client, recorder, document = recorded
    drive(client, headers)
    failed = {op: s for op, s in recorder.answered.items() if min(s) >= 400}
    assert not failed, f"operations never answered a success: {failed}"
    operations = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert operations <= set(recorder.answered), operations - set(recorder.answered)
    undeclared = {
        (method, path, status)
        for (method, path), statuses in recorder.answered.items()
        for status in statuses
        if status < 400 and str(status) not in document["paths"][path][method]["responses"]
    }
    assert not undeclared, f"answered but not in the OpenAPI document: {sorted(undeclared)}"


def test_a_submission_declares_201_for_added_and_200_for_nothing_new(recorded) -> None:  # type: ignore[no-untyped-def]
    _, _, document = recorded
    responses = document["paths"]["/v1/cases/{case_number}/entries"]["post"]["responses"]
    assert {"200", "201"} <= set(responses)
    assert responses["201"]["content"]["application/json"]["schema"]
