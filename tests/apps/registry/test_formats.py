"""Partner formats: the fixture files parse to the expected hashes, export and re-import losslessly,
and import/export work through the API."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stopframe.lists.formats import FormatError, ncmec, projectvic, registry_of_formats, stopncii, threatexchange
from stopframe.signals.base import Signal, SignalKind

FIXTURES = Path(__file__).parent / "fixtures"


def h(kind: str, text: str) -> str:
    return (hashlib.md5 if kind == "md5" else hashlib.sha256)(text.encode()).hexdigest()


P1, P2 = h("pdq", "fixture-pdq-1"), h("pdq", "fixture-pdq-2")
M1, M2 = h("md5", "fixture-md5-1"), h("md5", "fixture-md5-2")
S1 = h("sha256", "fixture-sha256-1")

EXPECTED = {
    "threatexchange.csv": (threatexchange.parse_csv, [("pdq", P1, 90), ("pdq", P2, None), ("md5", M1, None),
                                                      ("sha256", S1, None)], 1),
    "threatexchange.txt": (threatexchange.parse_text, [("pdq", P1, None), ("md5", M2, None)], 1),
    "stopncii.json": (stopncii.parse, [("pdq", P1, 100), ("md5", M1, None)], 1),
    "ncmec.xml": (ncmec.parse, [("md5", M1, None), ("pdq", P2, None), ("md5", M2, None)], 1),
    "projectvic.json": (projectvic.parse, [("md5", M1, None), ("md5", M2, None), ("sha256", S1, None)], 1),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_files_parse(name: str) -> None:
    parse, signals, skipped = EXPECTED[name]
    parsed = parse((FIXTURES / name).read_bytes())
    assert [(s.kind.value, s.value, s.quality) for s in parsed.signals] == signals
    assert parsed.skipped == skipped


@pytest.mark.parametrize("fmt", sorted(registry_of_formats()))
def test_export_then_import_round_trips(fmt: str) -> None:
    parse, dump, _media = registry_of_formats()[fmt]
    signals = [Signal(SignalKind.PDQ, P1, 77), Signal(SignalKind.MD5, M1), Signal(SignalKind.SHA256, S1)]
    kept = {"projectvic-json": signals[1:]}.get(fmt, signals)
    with_quality = fmt in ("threatexchange-csv", "stopncii-json")
    back = parse(dump(signals)).signals
    assert [(s.kind, s.value) for s in back] == [(s.kind, s.value) for s in kept]
    if with_quality:
        assert back[0].quality == 77


@pytest.mark.parametrize(("parse", "data", "needle"), [
    (stopncii.parse, b'{"hashes": [{"hashType": "MD5", "hashValue": "xyz"}]}', "hashes[0]"),
    (stopncii.parse, b"[]", "'hashes'"),
    (projectvic.parse, b'{"value": [{"MD5": 5}]}', "value[0].MD5"),
    (ncmec.parse, b"<queryResult><images><image>", "XML"),
    (ncmec.parse, b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', "XML"),
    (threatexchange.parse_csv, b"kind,value\n", "signal_type"),
])
def test_malformed_files_name_the_problem(parse, data: bytes, needle: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError, match=None) as caught:
        parse(data)
    assert needle in str(caught.value)


def test_import_and_export_through_the_api(client, headers) -> None:  # type: ignore[no-untyped-def]
    admin = headers["admin"]
    assert client.post("/v1/banks", headers=admin, json={
        "name": "ncmec", "kinds": ["pdq", "md5", "sha256"], "verified": True, "action": "block"}).status_code == 201
    response = client.post("/v1/banks/ncmec/import?format=ncmec-xml", content=(FIXTURES / "ncmec.xml").read_bytes(),
                           headers={**admin, "Content-Type": "application/xml"})
    assert response.json() == {"bank": "ncmec", "format": "ncmec-xml", "read": 3, "added": 3, "skipped": 1}
    again = client.post("/v1/banks/ncmec/import?format=projectvic-json",
                        content=(FIXTURES / "projectvic.json").read_bytes(),
                        headers={**admin, "Content-Type": "application/json"})
    assert again.json()["added"] == 1  # M1 and M2 were already there
    bank = client.get("/v1/banks/ncmec", headers=headers["read"]).json()
    assert bank["entries_active"] == 4 and bank["verified"] is True and bank["action"] == "block"
    exported = client.get("/v1/banks/ncmec/export?format=threatexchange-csv", headers=headers["read"])
    assert exported.headers["content-type"].startswith("text/csv")
    assert {(s.kind.value, s.value) for s in threatexchange.parse_csv(exported.content).signals} == {
        ("md5", M1), ("pdq", P2), ("md5", M2), ("sha256", S1)}
