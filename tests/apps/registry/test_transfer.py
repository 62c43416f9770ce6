"""Import and export of partner files through the API: fixture files in, a bank out, and a bank
holding kinds a format cannot carry is refused or exported partially with the left-out count."""

from __future__ import annotations

import hashlib
from pathlib import Path

from stopframe.lists.formats import ncmec, threatexchange

FIXTURES = Path(__file__).parents[2] / "lists" / "fixtures"


def h(kind: str, text: str) -> str:
    return (hashlib.md5 if kind == "md5" else hashlib.sha256)(text.encode()).hexdigest()


P2 = h("pdq", "fixture-pdq-2")
M1, M2 = h("md5", "fixture-md5-1"), h("md5", "fixture-md5-2")
S1 = h("sha256", "fixture-sha256-1")


def test_import_and_export_through_the_api(client, headers) -> None:  # type: ignore[no-untyped-def]
    admin = headers["admin"]
    assert (
        client.post(
            "/v1/banks",
            headers=admin,
            json={
                "name": "ncmec",
                "kinds": ["pdq", "md5", "sha256"],
                "verified": True,
                "action": "block",
            },
        ).status_code
        == 201
    )
    response = client.post(
        "/v1/banks/ncmec/import?format=ncmec-xml",
        content=(FIXTURES / "ncmec.xml").read_bytes(),
        headers={**admin, "Content-Type": "application/xml"},
    )
    assert response.json() == {
        "bank": "ncmec",
        "format": "ncmec-xml",
        "read": 3,
        "added": 3,
        "skipped": 1,
    }
    again = client.post(
        "/v1/banks/ncmec/import?format=projectvic-json",
        content=(FIXTURES / "projectvic.json").read_bytes(),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert again.json()["added"] == 1  # M1 and M2 were already there
    bank = client.get("/v1/banks/ncmec", headers=headers["read"]).json()
    assert bank["entries_active"] == 4 and bank["verified"] is True and bank["action"] == "block"
    assert bank["distance_threshold"] == 31  # PDQ's default: the bank's only kind with a distance
    exported = client.get(
        "/v1/banks/ncmec/export?format=threatexchange-csv", headers=headers["read"]
    )
    assert exported.headers["content-type"].startswith("text/csv")
    assert "x-stopframe-left-out" not in exported.headers
    assert {(s.kind, s.value) for s in threatexchange.parse_csv(exported.content).signals} == {
        ("md5", M1),
        ("pdq", P2),
        ("md5", M2),
        ("sha256", S1),
    }


def test_export_refuses_or_reports_kinds_the_format_cannot_carry(client, headers) -> None:  # type: ignore[no-untyped-def]
    admin = headers["admin"]
    client.post("/v1/banks", headers=admin, json={"name": "mixed", "kinds": ["pdq", "md5", "vpdq"]})
    vpdq = f"0,100,{P2},0.000\\n1,90,{S1},1.000"
    csv = f'signal_type,signal\npdq,{P2}\nmd5,{M1}\nvpdq,"{vpdq}"\n'.replace("\\n", "\n")
    imported = client.post(
        "/v1/banks/mixed/import?format=threatexchange-csv",
        content=csv.encode(),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert imported.json()["added"] == 3, imported.text
    refused = client.get("/v1/banks/mixed/export?format=ncmec-xml", headers=headers["read"])
    assert refused.status_code == 422
    assert "ncmec-xml cannot carry vpdq signals (1 of 3)" in refused.json()["detail"]
    partial = client.get(
        "/v1/banks/mixed/export?format=ncmec-xml&partial=true", headers=headers["read"]
    )
    assert partial.status_code == 200 and partial.headers["x-stopframe-left-out"] == "vpdq=1"
    assert [(s.kind, s.value) for s in ncmec.parse(partial.content).signals] == [
        ("pdq", P2),
        ("md5", M1),
    ]
    whole = client.get("/v1/banks/mixed/export?format=stopncii-json", headers=headers["read"])
    assert whole.status_code == 200 and "x-stopframe-left-out" not in whole.headers


def test_a_threshold_over_the_kinds_bound_is_refused(client, headers) -> None:  # type: ignore[no-untyped-def]
    admin = headers["admin"]
    over = client.post(
        "/v1/banks",
        headers=admin,
        json={"name": "v", "kinds": ["vpdq", "pdq"], "distance_threshold": 101},
    )
    assert over.status_code == 422 and "over 64" in over.json()["detail"]
    exact = client.post("/v1/banks", headers=admin, json={"name": "e", "kinds": ["md5"]})
    assert exact.status_code == 201 and exact.json()["distance_threshold"] == 0
    too_many = client.post("/v1/banks", headers=admin, json={"name": "t", "kinds": ["md5"] * 9})
    assert too_many.status_code == 422 and "at most" in too_many.json()["detail"]
