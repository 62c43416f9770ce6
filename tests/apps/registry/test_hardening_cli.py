"""Operator commands for banks and keys: `registry bank list`, `registry key list` and
`registry key revoke`, end to end on a temporary data dir; a revoked key is refused at once."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.apps.registry.conftest import settings_for_tests
from typer.testing import CliRunner

from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.models import AuditRecord
from stopframe.apps.registry.state import open_registry
from stopframe.cli import app

runner = CliRunner()


def cli(*args: str, data_dir, url: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [*args, "--data-dir", str(data_dir), "--database-url", url])


def created_key(scope: str, name: str, data_dir, url: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli(
        "registry", "create-key", "--scope", scope, "--name", name, data_dir=data_dir, url=url
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_bank_list_shows_each_bank_with_its_active_entries(database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    assert cli("registry", "migrate", data_dir=data, url=database_url).exit_code == 0
    for name, kinds, action in (("hotline", ["pdq", "md5"], "block"), ("partner", ["md5"], "log")):
        made = cli(
            "registry",
            "create-bank",
            name,
            *[a for k in kinds for a in ("--kind", k)],
            "--action",
            action,
            data_dir=data,
            url=database_url,
        )
        assert made.exit_code == 0, made.output
    listing = tmp_path / "list.txt"
    listing.write_text("pdq " + "ab" * 32 + "\nmd5 " + "cd" * 16 + "\nmd5 " + "ef" * 16 + "\n")
    imported = cli(
        "registry",
        "import",
        "hotline",
        str(listing),
        "--format",
        "threatexchange-text",
        data_dir=data,
        url=database_url,
    )
    assert imported.exit_code == 0, imported.output

    listed = cli("registry", "bank", "list", "--json", data_dir=data, url=database_url)
    assert listed.exit_code == 0, listed.output
    by_name = {b["name"]: b for b in json.loads(listed.output)}
    assert list(by_name) == ["hotline", "partner"]
    assert by_name["hotline"]["kinds"] == ["md5", "pdq"]
    assert by_name["hotline"]["action"] == "block" and by_name["partner"]["action"] == "log"
    assert by_name["hotline"]["entries_active"] == 3 and by_name["partner"]["entries_active"] == 0
    assert isinstance(by_name["hotline"]["distance_threshold"], int)

    table = cli("registry", "bank", "list", data_dir=data, url=database_url)
    assert table.exit_code == 0, table.output
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in table.output.splitlines()
        if line.startswith("│")
    ]
    threshold = str(by_name["hotline"]["distance_threshold"])
    assert rows == [
        ["hotline", "md5,pdq", threshold, "block", "no", "3"],
        ["partner", "md5", str(by_name["partner"]["distance_threshold"]), "log", "no", "0"],
    ]


def test_key_list_never_shows_a_key_and_revoke_locks_it_out(database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    assert cli("registry", "migrate", data_dir=data, url=database_url).exit_code == 0
    admin = created_key("admin", "bootstrap", data, database_url)
    reader = created_key("read", "platform-a", data, database_url)

    listed = cli("registry", "key", "list", "--json", data_dir=data, url=database_url)
    assert listed.exit_code == 0, listed.output
    keys = json.loads(listed.output)
    assert [(k["key_id"], k["name"], k["scopes"]) for k in keys] == [
        (admin["key_id"], "bootstrap", ["admin"]),
        (reader["key_id"], "platform-a", ["read"]),
    ]
    assert all(set(k) == {"key_id", "name", "scopes", "created_at", "revoked_at"} for k in keys)
    assert all(k["revoked_at"] is None for k in keys)
    table = cli("registry", "key", "list", data_dir=data, url=database_url)
    assert table.exit_code == 0 and reader["key_id"] in table.output
    for output in (listed.output, table.output):
        assert admin["key"] not in output and reader["key"] not in output
        assert reader["key"].rsplit("_", 1)[1] not in output

    revoked = cli("registry", "key", "revoke", reader["key_id"], data_dir=data, url=database_url)
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.output)["revoked_at"] is not None
    again = cli("registry", "key", "revoke", reader["key_id"], data_dir=data, url=database_url)
    assert again.exit_code == 0, again.output
    unknown = cli("registry", "key", "revoke", "0123456789ab", data_dir=data, url=database_url)
    assert unknown.exit_code == 2 and "0123456789ab" in unknown.output

    after = json.loads(
        cli("registry", "key", "list", "--json", data_dir=data, url=database_url).output
    )
    assert [k["revoked_at"] is not None for k in after] == [False, True]
    table = cli("registry", "key", "list", data_dir=data, url=database_url)
    assert "1 active" in table.output

    reg = open_registry(settings_for_tests(data, database_url))
    try:
        with reg.db.read() as session:
            revocations = session.execute(
                select(AuditRecord).where(AuditRecord.action == "key.revoke")
            ).scalars()
            assert [(r.actor, r.subject) for r in revocations] == [
                ("cli", f"key:{reader['key_id']}")
            ]
        with TestClient(create_app(registry=reg), raise_server_exceptions=False) as http:
            refused = http.get("/v1/banks", headers={"Authorization": f"Bearer {reader['key']}"})
            assert refused.status_code == 401, refused.text
            allowed = http.get("/v1/banks", headers={"Authorization": f"Bearer {admin['key']}"})
            assert allowed.status_code == 200, allowed.text
    finally:
        reg.db.dispose()
    verified = cli("registry", "audit", "verify", data_dir=data, url=database_url)
    assert verified.exit_code == 0, verified.output
