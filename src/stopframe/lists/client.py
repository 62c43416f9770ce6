"""Consumer client: pull the signed snapshot and change feed, verify, apply to a `ListStore`.

    pinned = {"3f2a...": "<base64 public key>"}          # from the operator, out of band
    with ListStore.open(Path("lists.sqlite")) as store, \\
            RegistryClient("http://127.0.0.1:8750", api_key, pinned) as client:
        client.sync(store)                                # snapshot first, then changes
        for entry in store.entries(kind="pdq"): ...      # what the matcher indexes
        client.sync(store, wait=25)                       # long-poll: answers on the next change

A caller that must act on changes before the store records them (the matcher updates its index
first) fetches with `changes(after, wait)` and applies with `ListStore.apply_changes` itself.

Anything whose signature does not verify against a pinned key, whose sequence numbers are not
contiguous, whose page is not the one asked for, or whose shape is wrong raises
`TamperedListError` and leaves the store unchanged; an error answer or an unreachable registry
raises `RegistryError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from stopframe.errors import ListStoreError, RegistryError, TamperedListError
from stopframe.lists.documents import (
    CHANGES,
    SNAPSHOT,
    ChangePage,
    Snapshot,
    read_changes,
    read_snapshot,
    verify_document,
)
from stopframe.lists.signing import load_public_key
from stopframe.lists.store import NEVER_SYNCED, ListStore


class RegistryClient:
    """HTTP client for a registry's signed lists and match reports."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        pinned_keys: dict[str, str],
        timeout: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        """`base_url` is the server root (http://host:port); `http` may supply a ready client."""
        self.base_url = base_url.rstrip("/")
        self.pinned = {kid: load_public_key(b64) for kid, b64 in pinned_keys.items()}
        self.http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self.auth = {"Authorization": f"Bearer {api_key}"}

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _request(
        self, method: str, path: str, expected: int, wait: float = 0.0, **kwargs: Any
    ) -> Any:
        """Send one request; `wait` seconds the server may hold it are added to the read
        timeout, so a long-poll is not cut short by the client."""
        try:
            request = self.http.build_request(method, path, headers=self.auth, **kwargs)
            limits = request.extensions.get("timeout")
            if wait and isinstance(limits, dict) and limits.get("read") is not None:
                request.extensions["timeout"] = {**limits, "read": limits["read"] + wait}
            response = self.http.send(request)
        except httpx.HTTPError as exc:
            raise RegistryError(f"{path}: registry not reachable: {exc}") from None
        if response.status_code != expected:
            raise RegistryError(f"{path}: {response.status_code} {response.text[:300]}")
        try:
            return response.json()
        except ValueError:
            raise RegistryError(f"{path}: answer is not JSON") from None

    def snapshot_page(self, after_id: int = 0, limit: int | None = None) -> Snapshot:
        """One verified snapshot page, not applied: the active entries with id > `after_id`
        (at most `limit`, else the registry's page size). A page for another place than the one
        asked for (replayed or shifted) is refused with TamperedListError."""
        params: dict[str, int] = {"after_id": after_id}
        if limit is not None:
            params["limit"] = limit
        envelope = self._request("GET", "/v1/lists/snapshot", 200, params=params)
        page = read_snapshot(verify_document(envelope, self.pinned, SNAPSHOT))
        if page.after_id != after_id:
            raise TamperedListError(
                f"asked for the snapshot page after id {after_id}, got the one after "
                f"{page.after_id}"
            )
        return page

    def snapshot_pages(self, limit: int | None = None) -> Iterator[Snapshot]:
        """Every verified snapshot page in id order, each fetched when the previous one has been
        consumed (so memory holds a page, not the list)."""
        after_id = 0
        while True:
            page = self.snapshot_page(after_id, limit)
            yield page
            if not page.more:
                return
            after_id = page.last_id

    def snapshot(self, store: ListStore, limit: int | None = None) -> int:
        """Replace the store with the registry's verified snapshot, loaded page by page in one
        transaction, then replay the change feed from the first page's sequence so that pages
        read at different times end as the registry's current state; return the entry count."""
        store.load_snapshot(self.snapshot_pages(limit), self.base_url)
        self.pull_changes(store)
        return store.count()

    def changes(self, after: int, wait: float = 0.0, limit: int | None = None) -> ChangePage:
        """One verified change page after sequence `after`, not applied. With `wait` (seconds,
        at most 30) the registry holds the request until a change arrives or the time is up,
        then answers (an empty page when none came). A page for another position than `after`
        is refused with TamperedListError."""
        params: dict[str, int | float] = {"after": after}
        if wait:
            params["wait"] = wait
        if limit is not None:
            params["limit"] = limit
        envelope = self._request("GET", "/v1/lists/changes", 200, wait=wait, params=params)
        page = read_changes(verify_document(envelope, self.pinned, CHANGES))
        if page.after != after:
            raise TamperedListError(
                f"asked for the changes after {after}, got the page after {page.after}"
            )
        return page

    def pull_changes(self, store: ListStore, wait: float = 0.0) -> int:
        """Apply every verified change since the store's sequence; return how many were applied.
        `wait` goes with the first request only (a long-poll when the store is up to date)."""
        applied = 0
        while True:
            page = self.changes(store.sequence, wait)
            wait = 0.0
            applied += store.apply_changes(page)
            if not page.more:
                return applied

    def sync(self, store: ListStore, wait: float = 0.0) -> int:
        """Bring the store up to date: a snapshot the first time, the change feed afterwards
        (waiting up to `wait` seconds for a change when there is none); return how many entries
        (snapshot) or changes were applied."""
        if store.registry not in (None, self.base_url):
            raise ListStoreError(
                f"{store.path}: holds the lists of {store.registry}, "
                f"not {self.base_url}; use another file"
            )
        if store.sequence == NEVER_SYNCED:
            return self.snapshot(store)
        return self.pull_changes(store, wait)

    def report(self, entry_id: int, action: str, matched_at: str) -> int:
        """Report a match (entry id, action taken, ISO time); return the report id. Never media."""
        body = self._request(
            "POST",
            "/v1/reports",
            201,
            json={"entry_id": entry_id, "action": action, "matched_at": matched_at},
        )
        return int(body["id"])

    def report_batch(self, reports: list[dict[str, Any]]) -> dict[str, Any]:
        """Report up to 1000 matches at once, each `{key, entry_id, action, matched_at}` with a
        key chosen by the caller (8-64 of A-Z a-z 0-9 _ -) that makes a retry harmless; return
        the answer `{accepted, duplicates, unknown: [entry ids]}`. Never media."""
        body = self._request("POST", "/v1/reports/batch", 200, json={"reports": reports})
        if not isinstance(body, dict):
            raise RegistryError("/v1/reports/batch: answer is not an object")
        return body
