"""A signal type registered in one place is known everywhere: the API's schemas validate it, the
partner formats read and write it, the CLI lists and imports it, with none of them touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stopframe.cli import app
from stopframe.lists.formats import threatexchange
from stopframe.signals import SIGNAL_TYPES, ContentType, SignalType
from stopframe.signals.base import DigestType


class Crc32Signal(DigestType):
    """CRC-32 of the file bytes: a throwaway type that exists only in this test."""

    name = "crc32"
    contents = (ContentType.PHOTO, ContentType.VIDEO)
    description = "CRC-32 of the file bytes (test only)"
    hex_chars = 8
    aliases = ("photo_crc32",)


@pytest.fixture
def crc32() -> Iterator[SignalType]:
    with SIGNAL_TYPES.registered(Crc32Signal()) as signal_type:
        yield signal_type
    assert "crc32" not in SIGNAL_TYPES


def test_api_accepts_validates_and_lists_the_new_type(  # type: ignore[no-untyped-def]
    crc32, client: TestClient, headers, new_case
) -> None:
    made = client.post(
        "/v1/banks",
        headers=headers["admin"],
        json={"name": "crc", "kinds": ["crc32"], "distance_threshold": 0},
    )
    assert made.status_code == 201, made.text
    assert made.json()["kinds"] == ["crc32"]
    case, case_headers = new_case()
    added = client.post(
        f"/v1/cases/{case}/entries",
        headers=case_headers,
        json={"signals": [{"kind": "crc32", "value": "DEADBEEF"}]},
    )
    assert added.status_code == 201, added.text
    assert added.json()["entries"][0]["value"] == "deadbeef"
    bad = client.post(
        f"/v1/cases/{case}/entries",
        headers=case_headers,
        json={"signals": [{"kind": "crc32", "value": "deadbeef00"}]},
    )
    assert bad.status_code == 422 and "crc32 must be 8 hex characters" in bad.text
    snapshot = client.get("/v1/lists/snapshot", headers=headers["read"]).json()["payload"]
    assert {"kind": "crc32", "value": "deadbeef"}.items() <= snapshot["entries"][0].items()


def test_api_refuses_the_type_once_it_is_gone(client: TestClient, headers) -> None:  # type: ignore[no-untyped-def]
    made = client.post(
        "/v1/banks", headers=headers["admin"], json={"name": "crc", "kinds": ["crc32"]}
    )
    assert made.status_code == 422 and "unknown signal type 'crc32'" in made.text


def test_formats_read_and_write_the_new_type(crc32) -> None:  # type: ignore[no-untyped-def]
    parsed = threatexchange.parse_csv(b"signal_type,signal\nphoto_crc32,CAFEBABE\n")
    assert [(s.kind, s.value) for s in parsed.signals] == [("crc32", "cafebabe")]
    again = threatexchange.parse_csv(threatexchange.dump_csv(parsed.signals))
    assert again.signals == parsed.signals
    with pytest.raises(ValueError, match="line 2: crc32 must contain only hex digits"):
        threatexchange.parse_csv(b"signal_type,signal\ncrc32,zzzzzzzz\n")


def test_cli_lists_and_imports_the_new_type(crc32, database_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["signals", "--json"]).stdout)
    assert "crc32" in [row["name"] for row in listed]
    where = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
    assert runner.invoke(app, ["registry", "migrate", *where]).exit_code == 0
    listing = tmp_path / "list.csv"
    listing.write_text("signal_type,signal\ncrc32,0badf00d\n")
    created = runner.invoke(app, ["registry", "create-bank", "crc", "--kind", "crc32", *where])
    imported = runner.invoke(
        app, ["registry", "import", "crc", str(listing), "--format", "threatexchange-csv", *where]
    )
    assert created.exit_code == 0, created.output
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["added"] == 1
