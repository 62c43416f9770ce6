"""Paged, signed snapshots: keyset pages in id order (no OFFSET), bounded by count and by value
size; a consumer that loads page by page while the registry changes between pages, then replays
the feed from the first page's sequence, ends with exactly the registry's active set; a
replayed, skipped or forged page is refused and the store keeps what it had."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.models import Entry
from stopframe.apps.registry.services import banks, entries, feed
from stopframe.errors import TamperedListError
from stopframe.lists.client import RegistryClient
from stopframe.lists.store import ListStore
from stopframe.signals import Signal

SNAPSHOT = "/v1/lists/snapshot"


class Interleaving(TestClient):
    """A test client that may rewrite a snapshot page request before it is sent (`rewrite`) and
    runs `between(request, response)` after each page is answered, before the next is asked."""

    def __init__(
        self,
        app: Any,
        between: Callable[[httpx.Request, httpx.Response], httpx.Response | None] | None = None,
        rewrite: Callable[[httpx.Request], httpx.Request] | None = None,
    ) -> None:
        super().__init__(app, base_url="http://testserver", raise_server_exceptions=False)
        self.between = between
        self.rewrite = rewrite

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        asked = request
        if request.url.path == SNAPSHOT and self.rewrite is not None:
            request = self.rewrite(request)
        response = super().send(request, **kwargs)
        if asked.url.path == SNAPSHOT and self.between is not None:
            response = self.between(asked, response) or response
        return response


def read_key(headers: dict[str, dict[str, str]]) -> str:
    return headers["read"]["Authorization"].removeprefix("Bearer ")


def active(registry) -> set[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """The registry's active entries as (id, value)."""
    with registry.db.read() as session:
        rows = session.execute(select(Entry.id, Entry.value).where(Entry.withdrawn_at.is_(None)))
        return {(i, v) for i, v in rows}


def held(store: ListStore) -> set[tuple[int, str]]:
    return {(e.id, e.value) for e in store.entries()}


def withdraw(registry, *ids: int) -> None:  # type: ignore[no-untyped-def]
    with registry.db.write() as session:
        for entry_id in ids:
            entries.withdraw_entry(session, entry_id, "test")


def restore(registry, entry_id: int) -> None:  # type: ignore[no-untyped-def]
    """Add a withdrawn entry's value again: the same entry comes back under its old id."""
    with registry.db.write() as session:
        entry = session.get(Entry, entry_id)
        bank = banks.case_bank(session, registry.settings.case_bank, "test")
        ids, added = entries.add_signals(
            session, bank, entry.owner, entry.case_id, [Signal(entry.kind, entry.value)]
        )
    assert ids == [entry_id] and added == 1


def test_pages_are_keyset_pages_in_id_order(client, headers, registry, add_entries) -> None:  # type: ignore[no-untyped-def]
    ids = add_entries(25)
    statements: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append((statement.upper(), parameters))

    event.listen(registry.db.reader, "before_cursor_execute", record)
    pages = []
    after_id = 0
    try:
        while True:
            response = client.get(
                f"{SNAPSHOT}?after_id={after_id}&limit=10", headers=headers["read"]
            )
            assert response.status_code == 200, response.text
            pages.append(response.json()["payload"])
            if not pages[-1]["more"]:
                break
            after_id = pages[-1]["entries"][-1]["id"]
    finally:
        event.remove(registry.db.reader, "before_cursor_execute", record)
    assert [len(p["entries"]) for p in pages] == [10, 10, 5]
    assert [p["after_id"] for p in pages] == [0, ids[9], ids[19]]
    assert [e["id"] for p in pages for e in p["entries"]] == sorted(ids)
    assert {p["sequence"] for p in pages} == {25}
    paging = [(s, p) for s, p in statements if "FROM ENTRIES" in s and "LIMIT" in s]
    assert len(paging) == 3 and all("ENTRIES.ID >" in s for s, _ in paging), paging
    # keyset, not OFFSET (SQLite's dialect always writes "OFFSET ?", bound to 0)
    assert all("OFFSET" not in s or p[-1] == 0 for s, p in paging), paging


def test_the_page_size_defaults_to_the_registry_setting_and_is_bounded(
    client, headers, registry, add_entries
) -> None:  # type: ignore[no-untyped-def]
    add_entries(9)
    registry.snapshot_page_size = 4
    payload = client.get(SNAPSHOT, headers=headers["read"]).json()["payload"]
    assert len(payload["entries"]) == 4 and payload["more"] is True and payload["after_id"] == 0
    for query in ("limit=0", f"limit={feed.SNAPSHOT_PAGE_MAX + 1}", "after_id=-1"):
        response = client.get(f"{SNAPSHOT}?{query}", headers=headers["read"])
        assert response.status_code == 422, query
        assert response.headers["content-type"] == "application/problem+json"
    beyond = client.get(f"{SNAPSHOT}?after_id=1000000", headers=headers["read"]).json()["payload"]
    assert (beyond["entries"], beyond["more"], beyond["after_id"]) == ([], False, 1000000)


def test_a_page_is_also_bounded_by_the_size_of_its_values(registry, add_entries) -> None:  # type: ignore[no-untyped-def]
    ids = add_entries(10)  # sha256 values: 64 characters each
    with registry.db.read() as session:
        page = feed.snapshot_payload(session, 0, 100, max_value_chars=64 * 3)
        tiny = feed.snapshot_payload(session, ids[4], 100, max_value_chars=10)
    assert [e["id"] for e in page["entries"]] == ids[:3] and page["more"] is True
    assert [e["id"] for e in tiny["entries"]] == [ids[5]] and tiny["more"] is True  # still moves on


def test_pages_read_while_the_registry_changes_end_as_the_registry(
    headers, registry, pinned, add_entries, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ids = add_entries(3000)
    pages = 0
    added: list[int] = []

    def between(_request: httpx.Request, _response: httpx.Response) -> None:
        nonlocal pages
        pages += 1
        if pages == 1:  # one behind the reader (its page is out), one ahead, and new ones
            withdraw(registry, ids[10], ids[2000])
            added.extend(add_entries(5))
        elif pages == 3:
            restore(registry, ids[10])
            withdraw(registry, ids[600], added[0])
        elif pages == 6:
            withdraw(registry, ids[11], ids[2999])
            added.extend(add_entries(3))

    with Interleaving(create_app(registry=registry), between=between) as http:
        rc = RegistryClient("http://testserver", read_key(headers), pinned, http=http)
        with ListStore.open(tmp_path / "manual.sqlite") as store:
            loaded = store.load_snapshot(rc.snapshot_pages(limit=250), rc.base_url)
            assert pages == 13 and loaded == len(held(store))
            assert not store.consistent  # pages from different times: not the registry's state
            assert held(store) != active(registry)
            rc.pull_changes(store)  # replay from the first page's sequence
            assert store.consistent and held(store) == active(registry)

        pages = 0
        with ListStore.open(tmp_path / "lists.sqlite") as store:
            count = rc.snapshot(store, limit=250)
            assert held(store) == active(registry) and count == len(active(registry))
            assert store.consistent and store.registry == "http://testserver"
            with registry.db.read() as session:
                assert store.sequence == feed.current_sequence(session)
            assert store.banks()["self-reported"]["kinds"]


def _shifted(step: int) -> Callable[[httpx.Request], httpx.Request]:
    """A rewrite that sends the request for another page than the one asked for."""

    def rewrite(request: httpx.Request) -> httpx.Request:
        after_id = int(request.url.params["after_id"])
        if after_id == 0:
            return request
        shifted = 0 if step == 0 else after_id + step
        return httpx.Request(
            request.method,
            request.url.copy_set_param("after_id", shifted),
            headers=request.headers,
            extensions=request.extensions,
        )

    return rewrite


def _forge(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    """Relabel a replayed first page as the page that was asked for."""
    envelope = response.json()
    envelope["payload"]["after_id"] = int(request.url.params["after_id"])
    return httpx.Response(200, json=envelope, request=request)


@pytest.mark.parametrize(
    ("rewrite", "between", "refusal"),
    [
        (_shifted(0), None, "asked for the snapshot page after id 10, got the one after 0"),
        (_shifted(10), None, "asked for the snapshot page after id 10, got the one after 20"),
        (_shifted(0), _forge, "signature does not verify"),
    ],
    ids=["replayed", "skipped", "forged"],
)
def test_a_page_out_of_place_is_refused_and_the_store_keeps_its_content(
    headers, registry, pinned, add_entries, tmp_path, rewrite, between, refusal
) -> None:  # type: ignore[no-untyped-def]
    add_entries(30)
    app = create_app(registry=registry)
    with Interleaving(app) as http, ListStore.open(tmp_path / "lists.sqlite") as store:
        rc = RegistryClient("http://testserver", read_key(headers), pinned, http=http)
        assert rc.snapshot(store, limit=10) == 30
        before = (held(store), store.sequence, store.key_id, store.banks())
    add_entries(5)
    withdraw(registry, 30)
    with (
        Interleaving(app, between=between, rewrite=rewrite) as http,
        ListStore.open(tmp_path / "lists.sqlite") as store,
    ):
        rc = RegistryClient("http://testserver", read_key(headers), pinned, http=http)
        with pytest.raises(TamperedListError, match=refusal):
            rc.snapshot(store, limit=10)
        assert (held(store), store.sequence, store.key_id, store.banks()) == before
