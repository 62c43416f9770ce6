"""The operator commands: migrate, create-key, audit verify (and its failure), backup, import."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from stopframe.apps.registry.backup import search_path_schemas
from stopframe.apps.registry.db import open_database
from stopframe.cli import app

runner = CliRunner()


def cli(*args: str, data_dir, url: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [*args, "--data-dir", str(data_dir), "--database-url", url])


def test_operator_commands(database_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    assert cli("registry", "migrate", data_dir=data, url=database_url).exit_code == 0
    created = cli(
        "registry",
        "create-key",
        "--scope",
        "admin",
        "--name",
        "bootstrap",
        data_dir=data,
        url=database_url,
    )
    assert created.exit_code == 0, created.output
    key = json.loads(created.output)
    assert key["scopes"] == ["admin"] and key["key"].startswith("sfk_")
    assert (
        cli("registry", "create-key", "--scope", "root", data_dir=data, url=database_url).exit_code
        == 2
    )
    fixture = tmp_path / "list.txt"
    fixture.write_text("pdq " + "ab" * 32 + "\nmd5 " + "cd" * 16 + "\n")
    assert (
        cli(
            "registry",
            "import",
            "nowhere",
            str(fixture),
            "--format",
            "threatexchange-text",
            data_dir=data,
            url=database_url,
        ).exit_code
        == 2
    )
    verified = cli("registry", "audit", "verify", data_dir=data, url=database_url)
    assert verified.exit_code == 0 and "intact: 1 rows" in verified.output

    db = open_database(database_url)
    with db.writer.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE id = 1"))
    db.dispose()
    broken = cli("registry", "audit", "verify", data_dir=data, url=database_url)
    assert broken.exit_code == 1 and "broken at row 1" in broken.output


def test_backup_of_a_running_sqlite_registry(registry, headers, client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if not registry.db.is_sqlite:
        pytest.skip("PostgreSQL backups are pg_dump's (covered below)")
    client.post("/v1/banks", headers=headers["admin"], json={"name": "b", "kinds": ["md5"]})
    destination = tmp_path / "copy" / "backup.sqlite"
    destination.parent.mkdir()
    result = cli(
        "registry",
        "backup",
        str(destination),
        data_dir=registry.settings.data_dir,
        url=registry.db.url,
    )
    assert result.exit_code == 0, result.output
    with sqlite3.connect(destination) as copy:
        assert copy.execute("SELECT name FROM banks").fetchall() == [("b",)]


def test_search_path_option_names_the_schemas_to_back_up() -> None:
    assert search_path_schemas("-csearch_path=t_one") == ["t_one"]
    assert search_path_schemas('-c search_path=a,"$user",b -c statement_timeout=5') == ["a", "b"]
    assert search_path_schemas("-c statement_timeout=5") == []
    assert search_path_schemas(None) == []


def test_postgres_backup_uses_pg_dump_or_says_it_is_missing(
    registry, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    if registry.db.is_sqlite:
        pytest.skip("SQLite backups use the online backup API (covered above)")
    destination = tmp_path / "backup.dump"
    result = cli("registry", "backup", str(destination), data_dir=tmp_path, url=registry.db.url)
    assert result.exit_code == 0, result.output
    assert destination.read_bytes()[:5] == b"PGDMP"
    pg_restore = shutil.which("pg_restore")
    if pg_restore is not None:  # the dump holds this registry's schema and nothing else
        listing = subprocess.run(
            [pg_restore, "--list", str(destination)], capture_output=True, text=True, check=True
        ).stdout
        (schema,) = search_path_schemas(make_url(registry.db.url).query["options"])
        entries = [line.split() for line in listing.splitlines() if not line.startswith(";")]
        dumped = {e[4] for e in entries if len(e) > 5 and e[3] == "TABLE" and e[4] != "DATA"}
        assert dumped == {schema}
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = cli("registry", "backup", str(destination), data_dir=tmp_path, url=registry.db.url)
    assert result.exit_code == 1 and "pg_dump not found" in result.output
