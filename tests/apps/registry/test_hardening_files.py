"""Registry files and start-up: private data folder, database, WAL/SHM, secret and backup files;
no hash values in failed-statement errors; one clear line when the database cannot be reached;
a plain-HTTP warning off loopback; backups that never overwrite or make folders."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from tests.apps.registry.conftest import settings_for_tests
from typer.testing import CliRunner

from stopframe.apps.registry.challenges import SECRET_FILE
from stopframe.apps.registry.db import open_database
from stopframe.apps.registry.state import open_registry
from stopframe.cli import app
from stopframe.cli.registry import is_loopback

runner = CliRunner()
UNREACHABLE = "postgresql+psycopg://operator:s3cret-pw@127.0.0.1:1/registry"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common default umask, under which files are created world-readable unless asked."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_new_sqlite_registry_is_private_to_its_owner(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "data"
    database = data / "registry.sqlite"
    registry = open_registry(settings_for_tests(data, f"sqlite:///{database}"))
    try:
        with registry.db.write() as session:  # a write makes sure the -wal file exists
            session.execute(text("UPDATE counters SET value = value WHERE name = 'feed'"))
        assert mode(data) == 0o700
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            assert path.exists() and mode(path) == 0o600, path
        assert mode(data / SECRET_FILE) == 0o600
    finally:
        registry.db.dispose()


def test_existing_world_readable_files_are_closed_on_open(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "data"
    database = data / "registry.sqlite"
    url = f"sqlite:///{database}"
    first = open_registry(settings_for_tests(data, url))
    keeper = first.db.reader.connect()  # holds the -wal and -shm files open
    try:
        keeper.execute(text("SELECT 1"))
        companions = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
        for path in [data, *companions]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        second = open_registry(settings_for_tests(data, url))
        second.db.dispose()
        assert mode(data) == 0o700
        assert [mode(path) for path in companions] == [0o600] * 3
    finally:
        keeper.close()
        first.db.dispose()


def test_failed_statements_do_not_carry_hash_values(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'registry.sqlite'}")
    value = "f" * 31 + "0"
    try:
        with pytest.raises(SQLAlchemyError) as raised, db.writer.connect() as connection:
            connection.execute(text("SELECT * FROM no_such_table WHERE value = :v"), {"v": value})
        assert value not in str(raised.value)
    finally:
        db.dispose()


@pytest.mark.parametrize(
    "command", [["registry", "migrate"], ["registry", "audit", "verify"], ["serve"]]
)
def test_unreachable_postgres_is_one_clear_line(tmp_path: Path, command: list[str]) -> None:
    args = [*command, "--data-dir", str(tmp_path), "--database-url", UNREACHABLE]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot open database postgresql+psycopg://operator:***@")
    assert "s3cret-pw" not in result.output


def test_unopenable_sqlite_path_is_one_clear_line(tmp_path: Path) -> None:
    taken = tmp_path / "registry.sqlite"
    taken.mkdir()  # a folder where the database file should be
    url = f"sqlite:///{taken}"
    result = runner.invoke(
        app, ["registry", "migrate", "--data-dir", str(tmp_path), "--database-url", url]
    )
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot open database sqlite:///{taken}:")


def test_serving_off_loopback_warns_about_plain_http(tmp_path: Path) -> None:
    args = ["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path), "--database-url"]
    result = runner.invoke(app, [*args, UNREACHABLE])
    warning, error = result.stderr.strip().splitlines()
    assert "without TLS" in warning and "HTTPS reverse proxy" in warning
    assert error.startswith("error: cannot open database")
    quiet = runner.invoke(app, ["serve", "--host", "127.0.0.1", *args[3:], UNREACHABLE])
    assert "without TLS" not in quiet.stderr


def test_loopback_hosts() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.5", "registry.example.org"]))


@pytest.fixture
def backup(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Runs `stopframe registry backup DEST` against a migrated SQLite registry."""
    data = tmp_path / "data"
    url = f"sqlite:///{data / 'registry.sqlite'}"
    assert runner.invoke(app, ["registry", "migrate", "--data-dir", str(data)]).exit_code == 0

    def run(destination: Path):  # type: ignore[no-untyped-def]
        args = ["registry", "backup", str(destination), "--data-dir", str(data)]
        return runner.invoke(app, [*args, "--database-url", url])

    return run


def test_backup_is_private(backup, tmp_path: Path, open_umask: None) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "copy.sqlite"
    assert backup(copy).exit_code == 0
    assert mode(copy) == 0o600


def test_backup_never_overwrites(backup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(b"an older backup")
    refused = backup(copy)
    assert refused.exit_code == 1 and "already exists" in refused.stderr
    assert copy.read_bytes() == b"an older backup"


def test_backup_never_makes_folders(backup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "no-such-folder" / "copy.sqlite"
    refused = backup(missing)
    assert refused.exit_code == 1 and "does not exist" in refused.stderr
    assert not missing.parent.exists()
