"""The whole life of a hash, on each database: case → hashes → snapshot → withdrawal in the feed →
match report → case sees the count → audit verifies; tampering is refused."""

from __future__ import annotations

import copy
import hashlib

import pytest
from sqlalchemy import text

from stopframe.apps.registry import audit
from stopframe.errors import ListStoreError, RegistryError, TamperedListError
from stopframe.lists.client import RegistryClient
from stopframe.lists.documents import (
    CHANGES,
    SNAPSHOT,
    read_changes,
    read_snapshot,
    verify_document,
)
from stopframe.lists.signing import load_public_key, rotate
from stopframe.lists.store import ListStore


def pdq(n: int) -> str:
    """A distinct, valid 64-hex PDQ value."""
    return hashlib.sha256(f"pdq-{n}".encode()).hexdigest()


def consumer(client, admin_headers) -> RegistryClient:  # type: ignore[no-untyped-def]
    """A platform: a read+report key, the published signing keys pinned, talking to the app."""
    created = client.post(
        "/v1/api-keys",
        headers=admin_headers,
        json={"name": "platform", "scopes": ["read", "report"]},
    )
    key = created.json()["key"]
    published = client.get("/v1/keys", headers={"Authorization": f"Bearer {key}"}).json()
    pinned = {k["key_id"]: k["public_key"] for k in published}
    return RegistryClient("http://testserver", key, pinned, http=client)


def test_case_to_consumer_and_back(client, headers, new_case, registry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    values = [pdq(i) for i in range(3)]
    md5 = hashlib.md5(b"benign file bytes").hexdigest()
    submitted = client.post(
        f"/v1/cases/{number}/entries",
        headers=case,
        json={
            "signals": [
                *({"kind": "pdq", "value": v.upper(), "quality": 90} for v in values),
                {"kind": "md5", "value": md5},
            ]
        },
    )
    assert submitted.status_code == 201, submitted.text
    ids = [e["id"] for e in submitted.json()["entries"]]
    assert submitted.json()["added"] == 4
    assert submitted.json()["entries"][0]["value"] == values[0]  # canonical lowercase

    rc = consumer(client, headers["admin"])
    store = ListStore.open(tmp_path / "lists.sqlite")
    assert rc.sync(store) == 4
    assert {e.value for e in store.entries()} == {*values, md5}
    assert store.banks()["self-reported"]["action"] == "review"
    assert store.registry == "http://testserver" and store.key_id

    withdrawn = client.delete(f"/v1/cases/{number}/entries/{ids[1]}", headers=case)
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"]
    assert rc.sync(store) == 1
    assert store.get(ids[1]) is None and values[1] not in {e.value for e in store.entries()}
    assert rc.sync(store) == 0
    store.close()
    with ListStore.open(tmp_path / "lists.sqlite") as reopened:  # resumes where it stopped
        assert rc.sync(reopened) == 0 and reopened.count() == 3
        other = RegistryClient("http://elsewhere", "sfk_x", {}, http=client)
        with pytest.raises(ListStoreError, match="holds the lists of http://testserver"):
            other.sync(reopened)

    assert rc.report(ids[0], "block", "2026-11-22T12:00:00Z") >= 1
    assert rc.report(ids[2], "log", "2026-11-22T12:01:00Z") >= 1
    with pytest.raises(RegistryError, match="404"):
        rc.report(10**6, "block", "2026-11-22T12:02:00Z")
    seen = client.get(f"/v1/cases/{number}", headers=case).json()
    assert seen == {
        "case_number": number,
        "entries_active": 3,
        "entries_withdrawn": 1,
        "matched": 2,
        "acted_on": 1,
    }

    with registry.db.read() as session:
        result = audit.verify(session)
    assert result.ok and result.rows >= 6

    # a tampered audit row is found, and named
    with registry.db.writer.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET details = :d WHERE id = 3"), {"d": '{"added":5}'}
        )
    with registry.db.read() as session:
        result = audit.verify(session)
    assert not result.ok and result.first_bad_id == 3


def test_tampered_lists_are_refused(client, headers, new_case, tmp_path) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    client.post(
        f"/v1/cases/{number}/entries",
        headers=case,
        json={"signals": [{"kind": "pdq", "value": pdq(1), "quality": 80}]},
    )
    rc = consumer(client, headers["admin"])
    snapshot = client.get("/v1/lists/snapshot", headers=headers["read"]).json()
    verify_document(snapshot, rc.pinned, SNAPSHOT)

    forged = copy.deepcopy(snapshot)
    forged["payload"]["entries"][0]["value"] = pdq(2)
    with pytest.raises(TamperedListError, match="signature"):
        verify_document(forged, rc.pinned, "snapshot")
    dropped = copy.deepcopy(snapshot)
    dropped["payload"]["entries"] = []
    with pytest.raises(TamperedListError):
        verify_document(dropped, rc.pinned, "snapshot")
    with pytest.raises(TamperedListError, match="unpinned"):
        verify_document(snapshot, {}, "snapshot")
    with pytest.raises(TamperedListError, match="changes document"):
        verify_document(snapshot, rc.pinned, "changes")

    store = ListStore.open(tmp_path / "lists.sqlite")
    empty = read_snapshot(
        {**verify_document(snapshot, rc.pinned, SNAPSHOT), "sequence": 0, "entries": []}
    )
    store.apply_snapshot(empty, "http://testserver")
    changes = verify_document(
        client.get("/v1/lists/changes?after=0", headers=headers["read"]).json(), rc.pinned, CHANGES
    )
    skipped = read_changes(
        {
            **changes,
            "after": 1,
            "changes": [{**changes["changes"][0], "sequence": 2}],
            "sequence": 2,
            "latest": 2,
        }
    )
    with pytest.raises(TamperedListError, match="starts after 1, store is at 0"):
        store.apply_changes(skipped)  # a replayed or skipped page does not line up with the store
    assert store.count() == 0 and store.sequence == 0
    assert store.apply_changes(read_changes(changes)) == 1
    assert store.count() == 1
    store.close()


def test_signing_key_rotation_keeps_old_lists_verifiable(client, headers, registry) -> None:  # type: ignore[no-untyped-def]
    old = client.get("/v1/lists/snapshot", headers=headers["read"]).json()
    registry.keyring = rotate(registry.settings.signing_dir)
    published = client.get("/v1/keys", headers=headers["read"]).json()
    assert len(published) == 2 and [k["current"] for k in published] == [False, True]
    pinned = {k["key_id"]: load_public_key(k["public_key"]) for k in published}
    new = client.get("/v1/lists/snapshot", headers=headers["read"]).json()
    assert new["payload"]["key_id"] != old["payload"]["key_id"]
    verify_document(old, pinned, "snapshot")
    verify_document(new, pinned, "snapshot")
    for pem in registry.settings.signing_dir.glob("*.pem"):
        assert pem.stat().st_mode & 0o777 == 0o600


def test_client_refuses_an_http_error(client, headers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rc = RegistryClient("http://testserver", "sfk_bad", {}, http=client)
    with (
        ListStore.open(tmp_path / "lists.sqlite") as store,
        pytest.raises(RegistryError, match="401"),
    ):
        rc.sync(store)
