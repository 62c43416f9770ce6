"""Replay and rollback: genuine but old documents are refused by name (a replayed change page, an
older snapshot over a newer store, an expired page, another registry, an older epoch, format 1),
an exact re-delivery stays harmless, and the registry is reached over HTTPS unless on loopback."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from stopframe.errors import RegistryError, TamperedListError
from stopframe.lists.canonical import utcnow
from stopframe.lists.client import RegistryClient
from stopframe.lists.documents import (
    ADD,
    WITHDRAW,
    StaleListError,
    bank_document,
    change_document,
    changes_document,
    entry_document,
    snapshot_document,
    stamp_document,
)
from stopframe.lists.signing import Keyring, key_id_of, public_key_b64
from stopframe.lists.store import ListStore

BANKS = [bank_document("reported", ["md5"], 0, True, "block")]
REGISTRY_ID = "00000000000000aa"
T0 = utcnow() - timedelta(minutes=10)


def entry(n: int) -> dict[str, Any]:
    return entry_document(
        n, "reported", "md5", hashlib.md5(f"benign-{n}".encode()).hexdigest(), None
    )


def stamp(
    at: int, epoch: int = 1, registry_id: str = REGISTRY_ID, age: int = 3600
) -> dict[str, Any]:
    """A stamp issued `at` seconds after T0."""
    return stamp_document(registry_id, epoch, age, (at, "ab" * 32), now=T0 + timedelta(seconds=at))


class Registry:
    """Serves the signed envelopes queued in `answers`, one a request, whatever is asked."""

    def __init__(self) -> None:
        self.keyring = Keyring([Ed25519PrivateKey.generate()])
        self.answers: list[dict[str, Any]] = []

    @property
    def pinned(self) -> dict[str, str]:
        public = self.keyring.current.public_key()
        return {key_id_of(public): public_key_b64(public)}

    def snapshot(self, sequence: int, ids: list[int], **stamped: Any) -> dict[str, Any]:
        payload = snapshot_document(sequence, BANKS, [entry(i) for i in ids])
        return self.keyring.sign(payload | stamp(**stamped))

    def changes(self, after: int, ops: list[tuple[str, int]], **stamped: Any) -> dict[str, Any]:
        listed = [change_document(after + n, op, entry(i)) for n, (op, i) in enumerate(ops, 1)]
        payload = changes_document(after, after + len(ops), BANKS, listed)
        return self.keyring.sign(payload | stamp(**stamped))

    def handle(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(self.answers.pop(0)).encode())


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def client(registry: Registry) -> Iterator[RegistryClient]:
    http = httpx.Client(
        base_url="http://testserver", transport=httpx.MockTransport(registry.handle)
    )
    with RegistryClient("http://testserver", "sfk_test", registry.pinned, http=http) as rc:
        yield rc


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ListStore]:
    with ListStore.open(tmp_path / "lists.sqlite") as opened:
        yield opened


def synced(registry: Registry, client: RegistryClient, store: ListStore) -> None:
    """Store at sequence 2 holding entries 1 and 2, last document issued at T0 + 2 s."""
    registry.answers += [registry.snapshot(1, [1], at=1), registry.changes(1, [(ADD, 2)], at=2)]
    client.sync(store)
    assert (store.sequence, [e.id for e in store.entries()]) == (2, [1, 2])


def refused(reason: str, client: RegistryClient, store: ListStore, call: Any) -> None:
    """`call` raises StaleListError for `reason` and leaves the store as it was."""
    before = (store.sequence, [e.id for e in store.entries()], store.epoch)
    with pytest.raises(StaleListError, match=reason) as raised:
        call()
    assert raised.value.reason == reason
    assert (store.sequence, [e.id for e in store.entries()], store.epoch) == before


def test_an_old_change_page_delivered_again_is_refused(registry, client, store) -> None:  # type: ignore[no-untyped-def]
    synced(registry, client, store)
    registry.answers.append(registry.changes(1, [(ADD, 2)], at=2))  # the page applied before
    page = client.changes(1)
    refused("replay", client, store, lambda: store.apply_changes(page))
    # an empty page at the store's place, but older than what it already applied: a freeze
    registry.answers.append(registry.changes(2, [], at=0))
    refused("older", client, store, lambda: store.apply_changes(client.changes(2)))


def test_a_cached_snapshot_of_the_store_s_own_sequence_is_taken(registry, client, store) -> None:  # type: ignore[no-untyped-def]
    """A registry may serve a page signed a little earlier from its cache: at the store's own
    sequence it holds the same state, so it is taken, and the issue time never goes back."""
    synced(registry, client, store)
    registry.answers += [registry.snapshot(2, [1, 2], at=1), registry.changes(2, [], at=3)]
    client.snapshot(store)
    assert (store.sequence, [e.id for e in store.entries()]) == (2, [1, 2])
    registry.answers.append(registry.changes(2, [], at=0))  # older than the change page applied
    refused("older", client, store, lambda: store.apply_changes(client.changes(2)))


def test_an_exact_redelivery_of_the_last_page_is_harmless(registry, client, store) -> None:  # type: ignore[no-untyped-def]
    synced(registry, client, store)
    empty = registry.changes(2, [], at=3)
    registry.answers += [empty, empty, registry.changes(2, [(WITHDRAW, 1)], at=4)]
    assert client.sync(store) == 0 and client.sync(store) == 0
    assert client.sync(store) == 1 and [e.id for e in store.entries()] == [2]


def test_an_older_snapshot_over_a_newer_store_is_refused(registry, client, store) -> None:  # type: ignore[no-untyped-def]
    synced(registry, client, store)
    registry.answers += [registry.changes(2, [(WITHDRAW, 1)], at=3)]
    client.sync(store)
    registry.answers.append(registry.snapshot(1, [1], at=1))  # entry 1 would come back
    refused("older", client, store, lambda: client.snapshot(store))
    registry.answers.append(registry.snapshot(2, [1, 2], at=9))  # newer, but read before the store
    refused("older", client, store, lambda: client.snapshot(store))


def test_an_expired_document_is_refused(registry, client, store) -> None:  # type: ignore[no-untyped-def]
    registry.answers.append(registry.snapshot(1, [1], at=0, age=60))
    with pytest.raises(StaleListError, match="expired") as raised:
        client.sync(store)
    assert raised.value.reason == "expired" and store.count() == 0


def test_another_registry_or_an_older_epoch_is_refused(registry, client, store) -> None:  # type: ignore[no-untyped-def]
    synced(registry, client, store)
    registry.answers.append(registry.snapshot(5, [7], at=5, registry_id="00000000000000bb"))
    refused("other-registry", client, store, lambda: client.snapshot(store))
    registry.answers.append(registry.changes(2, [(ADD, 7)], at=5, registry_id="00000000000000bb"))
    refused("other-registry", client, store, lambda: client.sync(store))
    registry.answers += [  # restored: a newer epoch makes the client take a new snapshot
        registry.changes(2, [], at=5, epoch=2),
        registry.snapshot(2, [2], at=6, epoch=2),
        registry.changes(2, [], at=7, epoch=2),
    ]
    client.sync(store)
    assert (store.epoch, [e.id for e in store.entries()]) == (2, [2])
    registry.answers.append(registry.changes(2, [(WITHDRAW, 2)], at=8, epoch=1))
    refused("older-epoch", client, store, lambda: client.sync(store))


def test_a_format_1_document_is_refused_clearly(registry, client, store) -> None:  # type: ignore[no-untyped-def]
    old = snapshot_document(1, BANKS, [entry(1)]) | {"version": 1}
    registry.answers.append(registry.keyring.sign(old))
    with pytest.raises(TamperedListError, match="version 1 carries no registry id"):
        client.sync(store)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8750",
        "http://127.8.9.1",
        "http://localhost:8750",
        "http://[::1]:8750",
        "https://registry.example",
    ],
)
def test_https_or_loopback_is_accepted(url: str) -> None:
    RegistryClient(url, "sfk_test", {}).close()


@pytest.mark.parametrize(
    "url", ["http://registry.example", "http://10.0.0.5:8750", "ftp://127.0.0.1"]
)
def test_plain_http_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(RegistryError, match="must be reached over https"):
        RegistryClient(url, "sfk_test", {})
