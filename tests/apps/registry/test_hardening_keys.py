"""Signing-key custody on a running registry: a rotation by the operator command signs the next
document without a restart and is audited; a consumer pinned to the old key learns the new one
from a rotation statement and keeps it; a retired key is no longer published nor believed; the
environment key and the data dir's keys cannot disagree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from typer.testing import CliRunner

from stopframe.apps.matcher.sync import LEARNED_KEYS, RegistrySource, Syncer
from stopframe.apps.registry.models import AuditRecord
from stopframe.apps.registry.state import Registry, open_registry
from stopframe.cli import app
from stopframe.errors import TamperedListError
from stopframe.lists.client import RegistryClient
from stopframe.lists.signing import Keyring, SigningKeyError, key_id_of, public_key_b64
from stopframe.lists.store import ListStore

from .conftest import settings_for_tests

runner = CliRunner()


def operator(registry: Registry, *args: str) -> dict[str, str]:
    """Run `stopframe registry ARGS` on the registry's data dir as another process would."""
    settings = registry.settings
    done = runner.invoke(
        app,
        ["registry", *args, "--data-dir", str(settings.data_dir)]
        + ["--database-url", settings.resolved_database_url],
    )
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def audited(registry: Registry, action: str) -> list[AuditRecord]:
    with registry.db.read() as session:
        query = select(AuditRecord).where(AuditRecord.action == action)
        return list(session.execute(query).scalars())


def consumer(client, read: dict[str, str], pins: dict[str, str], kept: Path) -> RegistryClient:  # type: ignore[no-untyped-def]
    key = read["Authorization"].removeprefix("Bearer ")
    return RegistryClient("http://testserver", key, pins, http=client, keys_file=kept)


def test_a_rotation_signs_the_next_snapshot_without_a_restart(client, headers, registry) -> None:  # type: ignore[no-untyped-def]
    before = client.get("/v1/lists/snapshot", headers=headers["read"]).json()["payload"]["key_id"]
    serving = registry.keyring
    new = operator(registry, "rotate-signing-key")["key_id"]
    after = client.get("/v1/lists/snapshot", headers=headers["read"]).json()["payload"]["key_id"]
    assert registry.keyring is serving and after == new != before
    published = client.get("/v1/keys", headers=headers["read"]).json()
    assert [(k["key_id"], k["current"]) for k in published] == [(before, False), (new, True)]
    (row,) = audited(registry, "signing_key.rotate")
    assert (
        row.subject == new
        and json.loads(row.details) == {"previous": before}
        and row.actor == "cli"
    )


def test_a_consumer_pinned_to_the_old_key_keeps_syncing(
    client, headers, registry, pinned, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    kept = tmp_path / "learned-keys.json"
    rc = consumer(client, headers["read"], pinned, kept)
    with ListStore.open(tmp_path / "lists.sqlite") as store:
        rc.sync(store)
        new = operator(registry, "rotate-signing-key")["key_id"]
        newer = operator(registry, "rotate-signing-key")["key_id"]
        assert rc.snapshot(store) == 0  # a snapshot signed by the newest key is taken
        assert {new, newer} <= set(rc.pinned)
    statements = client.get("/v1/keys/rotations", headers=headers["read"]).json()
    assert [s["payload"]["new_key_id"] for s in statements["rotations"]] == [new, newer]
    again = consumer(client, headers["read"], pinned, kept)
    assert {new, newer} <= set(again.pinned)  # kept, and checked again from the pinned key


def test_a_consumer_pinned_to_another_key_is_refused(client, headers, registry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    operator(registry, "rotate-signing-key")
    stranger = Ed25519PrivateKey.generate().public_key()
    pins = {key_id_of(stranger): public_key_b64(stranger)}
    rc = consumer(client, headers["read"], pins, tmp_path / "k.json")
    with pytest.raises(TamperedListError, match="unpinned"):
        rc.snapshot_page()
    assert set(rc.pinned) == set(pins)


def test_a_retired_key_is_withdrawn_and_its_documents_refused(
    client, headers, registry, pinned, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    folder = registry.settings.signing_dir
    rc = consumer(client, headers["read"], pinned, tmp_path / "k.json")
    leaked_id = operator(registry, "rotate-signing-key")["key_id"]
    leaked = next(
        k for k in map(_load, folder.glob("*.pem")) if key_id_of(k.public_key()) == leaked_id
    )
    rc.snapshot_page()
    settings = registry.settings
    refused = runner.invoke(
        app,
        ["registry", "retire-signing-key", leaked_id, "--data-dir", str(settings.data_dir),
         "--database-url", settings.resolved_database_url],
    )  # fmt: skip
    assert refused.exit_code == 2 and "rotate first" in refused.output
    newest = operator(registry, "rotate-signing-key")["key_id"]
    retired = operator(registry, "retire-signing-key", leaked_id)
    assert retired == {"retired": leaked_id, "current": newest}
    published = client.get("/v1/keys", headers=headers["read"]).json()
    assert leaked_id not in {k["key_id"] for k in published}
    assert rc.snapshot_page().key_id == newest
    assert leaked_id in rc.retired and leaked_id not in rc.pinned
    page = client.get("/v1/lists/snapshot", headers=headers["read"]).json()["payload"]
    forged = Keyring([leaked]).sign({k: v for k, v in page.items() if k != "key_id"})
    with pytest.raises(TamperedListError, match="retired"):
        rc._verified(forged, "snapshot")
    (row,) = audited(registry, "signing_key.retire")
    assert row.subject == leaked_id and json.loads(row.details) == {"current": newest}


def test_the_environment_key_cannot_disagree_with_the_data_dir(
    registry, database_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    env = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    settings = settings_for_tests(registry.settings.data_dir, database_url, signing_key=env)
    with pytest.raises(SigningKeyError, match="STOPFRAME_SIGNING_KEY holds signing key .* names"):
        open_registry(settings)
    data, url = str(settings.data_dir), settings.resolved_database_url
    for command in (["rotate-signing-key"], ["retire-signing-key", "0" * 16]):
        refused = runner.invoke(
            app,
            ["registry", *command, "--data-dir", data, "--database-url", url],
            env={"STOPFRAME_SIGNING_KEY": env},
        )
        assert refused.exit_code == 2 and "STOPFRAME_SIGNING_KEY holds" in refused.output


def test_the_matcher_keeps_learned_keys_beside_its_stores(tmp_path: Path) -> None:
    source = RegistrySource("http://127.0.0.1:9", "sfk_x", {})
    syncer = Syncer(tmp_path / "matcher", source, [])
    try:
        assert syncer.client is not None
        assert syncer.client.keys_file == tmp_path / "matcher" / LEARNED_KEYS
    finally:
        syncer.close()


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key
