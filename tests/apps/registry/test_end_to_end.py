"""The whole life of a hash, on each database: case → hashes → snapshot → withdrawal in the feed →
match report → case sees the count → audit verifies; tampering is refused."""

from __future__ import annotations

import copy
import hashlib

import pytest
from sqlalchemy import text

from stopframe.apps.registry import audit
from stopframe.lists.client import (
    LocalStore,
    RegistryClient,
    RegistryError,
    TamperedListError,
    apply_changes,
    verify,
)
from stopframe.lists.signing import load_public_key, rotate


def pdq(n: int) -> str:
    """A distinct, valid 64-hex PDQ value."""
    return hashlib.sha256(f"pdq-{n}".encode()).hexdigest()


def consumer(client, admin_headers) -> RegistryClient:  # type: ignore[no-untyped-def]
    """A platform: a read+report key, the published signing keys pinned, talking to the app."""
    created = client.post("/v1/api-keys", headers=admin_headers,
                          json={"name": "platform", "scopes": ["read", "report"]})
    key = created.json()["key"]
    published = client.get("/v1/keys", headers={"Authorization": f"Bearer {key}"}).json()
    pinned = {k["key_id"]: k["public_key"] for k in published}
    return RegistryClient("http://testserver", key, pinned, http=client)


def test_case_to_consumer_and_back(client, headers, new_case, registry) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    values = [pdq(i) for i in range(3)]
    md5 = hashlib.md5(b"benign file bytes").hexdigest()
    submitted = client.post(f"/v1/cases/{number}/entries", headers=case, json={"signals": [
        *({"kind": "pdq", "value": v.upper(), "quality": 90} for v in values),
        {"kind": "md5", "value": md5}]})
    assert submitted.status_code == 201, submitted.text
    ids = [e["id"] for e in submitted.json()["entries"]]
    assert submitted.json()["added"] == 4
    assert submitted.json()["entries"][0]["value"] == values[0]  # canonical lowercase

    rc = consumer(client, headers["admin"])
    store = LocalStore()
    rc.sync(store)
    assert {e.value for e in store.entries.values()} == {*values, md5}
    assert store.banks["self-reported"]["action"] == "review"

    withdrawn = client.delete(f"/v1/cases/{number}/entries/{ids[1]}", headers=case)
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"]
    assert rc.sync(store) == 1
    assert ids[1] not in store.entries and values[1] not in {e.value for e in store.entries.values()}
    assert rc.sync(store) == 0

    assert rc.report(ids[0], "block", "2026-11-22T12:00:00Z") >= 1
    assert rc.report(ids[2], "log", "2026-11-22T12:01:00Z") >= 1
    with pytest.raises(RegistryError, match="404"):
        rc.report(10**6, "block", "2026-11-22T12:02:00Z")
    seen = client.get(f"/v1/cases/{number}", headers=case).json()
    assert seen == {"case_number": number, "entries_active": 3, "entries_withdrawn": 1,
                    "matched": 2, "acted_on": 1}

    with registry.db.read() as session:
        result = audit.verify(session)
    assert result.ok and result.rows >= 6

    # a tampered audit row is found, and named
    with registry.db.writer.begin() as connection:
        connection.execute(text("UPDATE audit_log SET details = :d WHERE id = 3"), {"d": '{"added":5}'})
    with registry.db.read() as session:
        result = audit.verify(session)
    assert not result.ok and result.first_bad_id == 3


def test_tampered_lists_are_refused(client, headers, new_case) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    client.post(f"/v1/cases/{number}/entries", headers=case,
                json={"signals": [{"kind": "pdq", "value": pdq(1), "quality": 80}]})
    rc = consumer(client, headers["admin"])
    snapshot = client.get("/v1/lists/snapshot", headers=headers["read"]).json()
    verify(snapshot, rc.pinned, "snapshot")

    forged = copy.deepcopy(snapshot)
    forged["payload"]["entries"][0]["value"] = pdq(2)
    with pytest.raises(TamperedListError, match="signature"):
        verify(forged, rc.pinned, "snapshot")
    dropped = copy.deepcopy(snapshot)
    dropped["payload"]["entries"] = []
    with pytest.raises(TamperedListError):
        verify(dropped, rc.pinned, "snapshot")
    with pytest.raises(TamperedListError, match="unpinned"):
        verify(snapshot, {}, "snapshot")
    with pytest.raises(TamperedListError, match="changes document"):
        verify(snapshot, rc.pinned, "changes")

    store = LocalStore(sequence=0)
    changes = verify(client.get("/v1/lists/changes?after=0", headers=headers["read"]).json(),
                     rc.pinned, "changes")
    skipped = copy.deepcopy(changes)
    skipped["after"] = 1  # a replayed or skipped page does not line up with the store
    with pytest.raises(TamperedListError):
        apply_changes(store, skipped)
    assert store.entries == {} and store.sequence == 0
    apply_changes(store, changes)
    assert len(store.entries) == 1


def test_signing_key_rotation_keeps_old_lists_verifiable(client, headers, registry) -> None:  # type: ignore[no-untyped-def]
    old = client.get("/v1/lists/snapshot", headers=headers["read"]).json()
    registry.keyring = rotate(registry.settings.signing_dir)
    published = client.get("/v1/keys", headers=headers["read"]).json()
    assert len(published) == 2 and [k["current"] for k in published] == [False, True]
    pinned = {k["key_id"]: load_public_key(k["public_key"]) for k in published}
    new = client.get("/v1/lists/snapshot", headers=headers["read"]).json()
    assert new["payload"]["key_id"] != old["payload"]["key_id"]
    verify(old, pinned, "snapshot")
    verify(new, pinned, "snapshot")
    for pem in registry.settings.signing_dir.glob("*.pem"):
        assert pem.stat().st_mode & 0o777 == 0o600


def test_client_refuses_an_http_error(client, headers) -> None:  # type: ignore[no-untyped-def]
    rc = RegistryClient("http://testserver", "sfk_bad", {}, http=client)
    with pytest.raises(RegistryError, match="401"):
        rc.sync(LocalStore())
