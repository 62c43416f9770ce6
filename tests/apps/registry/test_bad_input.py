"""Bad input gets a clear 4xx problem and writes nothing: hex, lengths, kinds, quality, multi-line
values (a vPDQ, a robust set with a bad line or over 32 hashes), batches, bodies, content types,
imports."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from stopframe.apps.registry.models import AuditRecord, Change, Entry

GOOD = {"kind": "pdq", "value": "a" * 64, "quality": 80}


def state(registry) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """(entries, changes, audit rows): all must stay put after a refused request."""
    with registry.db.read() as session:
        return tuple(
            session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Entry, Change, AuditRecord)
        )


@pytest.mark.parametrize(
    ("signal", "needle"),
    [
        ({"kind": "pdq", "value": "z" * 64}, "hex digits"),
        ({"kind": "pdq", "value": "a" * 63}, "64 hex characters"),
        ({"kind": "md5", "value": "a" * 64}, "32 hex characters"),
        ({"kind": "sha256", "value": "a" * 32}, "64 hex characters"),
        ({"kind": "phash", "value": "a" * 16}, "signals.1.kind"),
        ({"kind": "pdq", "value": "a" * 64, "quality": 101}, "less than or equal to 100"),
        ({"kind": "pdq", "value": "a" * 64, "quality": -1}, "greater than or equal to 0"),
        ({"kind": "md5", "value": "a" * 32, "quality": 50}, "no quality"),
        ({"kind": "vpdq", "value": "0,100,nothex,0.0"}, "pdq must be 64 hex"),
        ({"kind": "vpdq", "value": "0,100"}, "vpdq line 1"),
        ({"kind": "pdq_robust", "value": "full,90,zz"}, "pdq_robust line 1: pdq must be 64 hex"),
        (
            {"kind": "pdq_robust", "value": f"full,90,{'a' * 64}\nleft8 90 {'b' * 64}"},
            "pdq_robust line 2: expected variant,quality,pdq_hex",
        ),
        ({"kind": "pdq_robust", "value": f"full,101,{'a' * 64}"}, "line 1: quality out of range"),
        (
            {"kind": "pdq_robust", "value": "\n".join(f"c{i},90,{i:064x}" for i in range(33))},
            "pdq_robust holds 33 hashes; at most 32",
        ),
        ({"kind": "pdq", "value": ""}, "at least 1"),
        ({"kind": "pdq", "value": 12345}, "valid string"),
        ({"kind": "pdq", "value": "a" * 64, "media": "aGVsbG8="}, "Extra inputs"),
    ],
)
def test_a_bad_signal_refuses_the_whole_batch(client, new_case, registry, signal, needle) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    before = state(registry)
    response = client.post(
        f"/v1/cases/{number}/entries", headers=case, json={"signals": [GOOD, signal]}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and needle in problem["detail"], problem["detail"]
    assert state(registry) == before


def test_duplicates_are_idempotent(client, new_case, registry) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    body = {"signals": [GOOD, GOOD, {**GOOD, "value": "A" * 64}]}
    first = client.post(f"/v1/cases/{number}/entries", headers=case, json=body)
    assert first.status_code == 201 and first.json()["added"] == 1
    after_first = state(registry)
    second = client.post(f"/v1/cases/{number}/entries", headers=case, json=body)
    assert second.status_code == 200 and second.json()["added"] == 0
    assert [e["id"] for e in second.json()["entries"]] == [e["id"] for e in first.json()["entries"]]
    assert state(registry) == after_first


def test_oversized_batches_and_bodies(client, new_case, registry) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    before = state(registry)
    batch = [
        {"kind": "md5", "value": hashlib.md5(str(i).encode()).hexdigest()} for i in range(1001)
    ]
    response = client.post(f"/v1/cases/{number}/entries", headers=case, json={"signals": batch})
    assert response.status_code == 422 and "at most 1000" in response.json()["detail"]
    limit = registry.settings.max_values_body_bytes  # the larger limit of the routes with values
    huge = b'{"signals": [{"kind": "pdq", "value": "' + b"a" * limit + b'"}]}'
    response = client.post(
        f"/v1/cases/{number}/entries",
        content=huge,
        headers={**case, "Content-Type": "application/json"},
    )
    assert (
        response.status_code == 413
        and response.headers["content-type"] == "application/problem+json"
    )

    def streamed():  # no Content-Length: the limit holds for chunked bodies too
        for _ in range(limit // 65536 + 1):
            yield b"a" * 65536

    response = client.post(
        f"/v1/cases/{number}/entries",
        content=streamed(),
        headers={**case, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert state(registry) == before


@pytest.mark.parametrize(
    ("content_type", "needle"),
    [
        ("image/jpeg", "never accepts media"),
        ("video/mp4", "never accepts media"),
        ("application/octet-stream", "never accepts media"),
        ("multipart/form-data; boundary=x", "never accepts media"),
        ("text/plain", "not accepted"),
        (None, "missing"),
    ],
)
def test_wrong_content_types(client, new_case, registry, content_type, needle) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    before = state(registry)
    headers = {k: v for k, v in case.items()}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(
        f"/v1/cases/{number}/entries",
        headers=headers,
        content=b'{"signals": [{"kind": "pdq", "value": "' + b"a" * 64 + b'"}]}',
    )
    assert response.status_code == 415, response.text
    assert needle in response.json()["detail"]
    assert state(registry) == before


def test_malformed_json_unknown_route_and_method_are_problems(client, new_case) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    response = client.post(
        f"/v1/cases/{number}/entries",
        headers={**case, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert (
        response.status_code == 422
        and response.headers["content-type"] == "application/problem+json"
    )
    for response, status in (
        (client.get("/v1/nothing-here"), 404),
        (client.put("/v1/health"), 405),
        (client.get(f"/v1/cases/{number}/entries/1", headers=case), 405),
    ):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status


def test_a_bad_record_fails_the_whole_import(client, headers, registry) -> None:  # type: ignore[no-untyped-def]
    client.post(
        "/v1/banks", headers=headers["admin"], json={"name": "partner", "kinds": ["pdq", "md5"]}
    )
    before = state(registry)
    text = f"signal_type,signal\npdq,{'a' * 64}\nmd5,{'b' * 32}\npdq,{'c' * 63}\n"
    response = client.post(
        "/v1/banks/partner/import?format=threatexchange-csv",
        content=text.encode(),
        headers={**headers["admin"], "Content-Type": "text/csv"},
    )
    assert response.status_code == 422 and "line 4" in response.json()["detail"]
    response = client.post(
        "/v1/banks/partner/import?format=threatexchange-text",
        content=f"sha256 {'d' * 64}\n".encode(),
        headers={**headers["admin"], "Content-Type": "text/plain"},
    )
    assert response.status_code == 422 and "does not take sha256" in response.json()["detail"]
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<queryResult><images><image><fingerprints><md5>&b;</md5></fingerprints></image></images>"
        b"</queryResult>"
    )
    response = client.post(
        "/v1/banks/partner/import?format=ncmec-xml",
        content=bomb,
        headers={**headers["admin"], "Content-Type": "application/xml"},
    )
    assert response.status_code == 422 and "XML" in response.json()["detail"]
    response = client.post(
        "/v1/banks/partner/import?format=pickle",
        content=b"x",
        headers={**headers["admin"], "Content-Type": "text/plain"},
    )
    assert response.status_code == 422
    assert state(registry) == before
