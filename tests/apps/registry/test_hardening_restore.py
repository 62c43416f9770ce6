"""Backup and restore without breaking consumers: a backup holds the signing keys and a manifest;
restoring an older one raises the epoch, so a consumer takes a new snapshot and ends exactly as
the restored registry, and keeps what the replaced database knew (a revoked API key stays
revoked, a withdrawn entry stays withdrawn, sequence numbers are not reused). A backup whose
files do not match its manifest, or of another registry, is refused and changes nothing."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.apps.registry.conftest import make_key, settings_for_tests
from tests.apps.registry.test_items import add, open_case, photo
from typer.testing import CliRunner

from stopframe.apps.matcher.sync import RegistrySource, Syncer
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.models import Entry, Item
from stopframe.apps.registry.services import banks, entries, feed, items, keys
from stopframe.apps.registry.state import Registry, open_registry
from stopframe.apps.registry.terms import Scope
from stopframe.cli import app
from stopframe.lists.client import RegistryClient
from stopframe.lists.signing import is_retired
from stopframe.lists.store import ListStore
from stopframe.signals import Signal

runner = CliRunner()


def cli(registry: Registry, *args: str) -> Any:
    data = str(registry.settings.data_dir)
    return runner.invoke(
        app, ["registry", *args, "--data-dir", data, "--database-url", registry.db.url]
    )


@pytest.fixture
def sqlite_registry(registry: Registry) -> Registry:
    if not registry.db.is_sqlite:
        pytest.skip("restore handles SQLite registries; PostgreSQL is restored with pg_restore")
    return registry


def consumer(registry: Registry, http: TestClient, key: str) -> RegistryClient:
    pinned = {k["key_id"]: k["public_key"] for k in registry.keyring.published()}
    return RegistryClient("http://testserver", key, pinned, http=http)


def active(registry: Registry) -> list[int]:
    with registry.db.read() as session:
        rows = session.execute(
            select(Entry.id).where(Entry.withdrawn_at.is_(None)).order_by(Entry.id)
        )
        return list(rows.scalars())


@pytest.fixture
def reopened(sqlite_registry: Registry) -> Iterator[Any]:
    """Factory: the registry opened again from its data dir (after a restore), with an app."""
    opened: list[tuple[Registry, TestClient]] = []

    def factory() -> tuple[Registry, TestClient]:
        reg = open_registry(
            settings_for_tests(sqlite_registry.settings.data_dir, sqlite_registry.db.url)
        )
        http = TestClient(create_app(registry=reg), raise_server_exceptions=False).__enter__()
        opened.append((reg, http))
        return reg, http

    yield factory
    for reg, http in opened:
        http.__exit__(None, None, None)
        reg.db.dispose()


def test_a_backup_holds_the_signing_keys_and_a_manifest(
    sqlite_registry, add_entries, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    add_entries(3)
    destination = tmp_path / "backup.sqlite"
    assert cli(sqlite_registry, "backup", str(destination)).exit_code == 0
    keys_dir = destination.with_name("backup.sqlite.signing")
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    pems = sorted(keys_dir.glob("ed25519-*.pem"))
    signing = sqlite_registry.settings.signing_dir
    assert [p.name for p in pems] == sorted(p.name for p in signing.glob("ed25519-*.pem"))
    assert pems and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in pems)
    assert all(p.read_bytes() == (signing / p.name).read_bytes() for p in pems)
    manifest_file = destination.with_name("backup.sqlite.manifest.json")
    assert stat.S_IMODE(manifest_file.stat().st_mode) == 0o600
    manifest = json.loads(manifest_file.read_text())
    with sqlite_registry.db.read() as session:
        assert (manifest["registry_id"], manifest["epoch"]) == feed.identity(session)
    assert manifest["sequence"] == 3 and set(manifest["keys"]) == {p.name for p in pems}


def test_restoring_an_older_backup_keeps_consumers_and_revocations_right(  # type: ignore[no-untyped-def]
    sqlite_registry, client, add_entries, reopened, tmp_path
) -> None:
    registry = sqlite_registry
    first = add_entries(3)
    reader = make_key(registry, Scope.READ)
    with registry.db.write() as session:
        leaked = keys.create_key(session, "leaked", [Scope.READ], "test")
    destination = tmp_path / "backup.sqlite"
    assert cli(registry, "backup", str(destination)).exit_code == 0

    later = add_entries(3)  # sequences 4..6, then a withdrawal (7) and a revocation
    with registry.db.write() as session:
        entries.withdraw_entry(session, first[0], "operator")
        keys.revoke(session, leaked.row.key_id, "operator")
    with ListStore.open(tmp_path / "consumer.sqlite") as store:
        consumer(registry, client, reader).sync(store)
        assert store.sequence == 7 and [e.id for e in store.entries()] == first[1:] + later

        registry.db.dispose()
        restored = cli(registry, "restore", str(destination))
        assert restored.exit_code == 0, restored.output
        assert f"entries withdrawn again: {first[0]}" in restored.output
        assert f"API keys revoked again: {leaked.row.key_id}" in restored.output

        again, http = reopened()
        with again.db.read() as session:
            registry_id, epoch = feed.identity(session)
            sequence = feed.current_sequence(session)
        assert epoch == 2 and sequence == 8  # above the replaced database's 7: never reused
        assert active(again) == first[1:]  # the withdrawn entry did not come back
        refused = http.get("/v1/lists/snapshot", headers={"Authorization": f"Bearer {leaked.key}"})
        assert refused.status_code == 401

        consumer(again, http, reader).sync(store)  # the newer epoch: a new snapshot
        assert [e.id for e in store.entries()] == active(again)
        assert (store.registry_id, store.epoch, store.sequence) == (registry_id, 2, sequence)


def test_a_backup_not_matching_its_manifest_or_of_another_registry_is_refused(  # type: ignore[no-untyped-def]
    sqlite_registry, add_entries, tmp_path
) -> None:
    registry = sqlite_registry
    add_entries(2)
    destination = tmp_path / "backup.sqlite"
    assert cli(registry, "backup", str(destination)).exit_code == 0
    before = Path(registry.db.url.removeprefix("sqlite:///")).read_bytes()

    other = open_registry(
        settings_for_tests(tmp_path / "other", f"sqlite:///{tmp_path / 'other.sqlite'}")
    )
    other.db.dispose()
    refused = runner.invoke(
        app,
        ["registry", "restore", str(destination), "--data-dir", str(tmp_path / "other")]
        + ["--database-url", other.db.url],
    )
    assert refused.exit_code == 1 and "pass --force" in refused.stderr

    manifest_file = destination.with_name("backup.sqlite.manifest.json")
    manifest = json.loads(manifest_file.read_text())
    manifest_file.write_text(json.dumps(manifest | {"sequence": 99}))
    refused = cli(registry, "restore", str(destination))
    assert refused.exit_code == 1 and "does not match its manifest" in refused.stderr
    with destination.open("ab") as handle:
        handle.write(b"\0")
    refused = cli(registry, "restore", str(destination))
    assert refused.exit_code == 1 and "checksum" in refused.stderr
    assert Path(registry.db.url.removeprefix("sqlite:///")).read_bytes() == before


def indexed(syncer: Syncer) -> int:
    """Live rows in the matcher's index set, every kind together."""
    return sum(state.live_arrays()[0].shape[0] for state in syncer.writer.kinds.values())


def test_the_matcher_rebuilds_its_index_after_a_restore(  # type: ignore[no-untyped-def]
    sqlite_registry, client, add_entries, reopened, tmp_path
) -> None:
    registry = sqlite_registry
    first = add_entries(2)
    reader = make_key(registry, Scope.READ)
    destination = tmp_path / "backup.sqlite"
    assert cli(registry, "backup", str(destination)).exit_code == 0
    add_entries(3)
    source = RegistrySource("http://testserver", reader, {})
    syncer = Syncer(tmp_path / "matcher", source, [], client=consumer(registry, client, reader))
    try:
        syncer.sync_once()
        assert indexed(syncer) == 5
        registry.db.dispose()
        assert cli(registry, "restore", str(destination)).exit_code == 0
        again, http = reopened()
        syncer.client = consumer(again, http, reader)
        assert syncer.sync_once()["registry"] == 2
        status = syncer.status.sources["registry"]
        assert status.last_error is None and status.tampered == 0
        store = syncer.stores.store("registry")
        assert store is not None and [e.id for e in store.entries()] == first
        assert indexed(syncer) == 2  # the entries only the replaced database had are gone
    finally:
        syncer.close()


def test_a_withdrawn_item_stays_withdrawn_after_a_restore(  # type: ignore[no-untyped-def]
    sqlite_registry, reopened, tmp_path
) -> None:
    registry = sqlite_registry
    case = open_case(registry)
    added = add(registry, case, photo(1, 1), photo(2, 2))
    destination = tmp_path / "backup.sqlite"
    assert cli(registry, "backup", str(destination)).exit_code == 0
    with registry.db.write() as session:
        withdrawn = items.withdraw_item(session, session.merge(case), added.ids[0])
        gone = [
            e.id
            for e in session.execute(select(Entry).where(Entry.withdrawn_at.is_not(None))).scalars()
        ]
    registry.db.dispose()
    assert cli(registry, "restore", str(destination)).exit_code == 0
    again, _ = reopened()
    with again.db.read() as session:
        item = session.get(Item, withdrawn.id)
        assert item is not None and item.withdrawn_at is not None
        kept = session.get(Item, added.ids[1])
        assert kept is not None and kept.withdrawn_at is None
    assert gone and not set(gone) & set(active(again))


def test_a_retired_signing_key_is_not_brought_back_by_a_restore(  # type: ignore[no-untyped-def]
    sqlite_registry, reopened, tmp_path
) -> None:
    registry = sqlite_registry
    old = registry.keyring.published()[-1]["key_id"]
    destination = tmp_path / "backup.sqlite"
    assert cli(registry, "backup", str(destination)).exit_code == 0
    assert cli(registry, "rotate-signing-key").exit_code == 0
    assert cli(registry, "retire-signing-key", old).exit_code == 0
    registry.db.dispose()
    assert cli(registry, "restore", str(destination)).exit_code == 0
    again, _ = reopened()
    assert old not in {k["key_id"] for k in again.keyring.published()}
    assert old in again.keyring.retired
    folder = again.settings.signing_dir
    assert not [pem for pem in folder.glob("*.pem") if is_retired(folder, pem.read_bytes())]


def test_new_entries_after_a_restore_never_take_an_id_given_out_before_it(  # type: ignore[no-untyped-def]
    sqlite_registry, add_entries, reopened, tmp_path
) -> None:
    registry = sqlite_registry
    first = add_entries(2)
    destination = tmp_path / "backup.sqlite"
    assert cli(registry, "backup", str(destination)).exit_code == 0
    with registry.db.write() as session:  # after the backup: a new bank, and entries in it
        late = banks.create_bank(session, "late", ["md5"], "test")
        signals = [Signal("md5", hashlib.md5(f"late-{n}".encode()).hexdigest()) for n in range(3)]
        given, _ = entries.add_signals(session, late, "import", None, signals)
    assert max(given) > max(first)
    registry.db.dispose()
    assert cli(registry, "restore", str(destination)).exit_code == 0

    again, _ = reopened()
    assert active(again) == first  # only the backup's entries are on the list
    newer = add_entries(1, db=again.db)
    assert newer[0] > max(given), f"entry id {newer[0]} was given out before the restore"
    with again.db.read() as session:
        kept = session.get(Entry, max(given))  # a withdrawn tombstone, in its own bank
        assert kept is not None and kept.withdrawn_by == "restore" and kept.bank.name == "late"
        assert session.get(Entry, min(given)) is None
