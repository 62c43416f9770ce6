"""Consumer client: pull the signed snapshot and change feed, verify, apply to a `ListStore`.

    pinned = {"3f2a...": "<base64 public key>"}          # from the operator, out of band
    with ListStore.open(Path("lists.sqlite")) as store, \\
            RegistryClient("http://127.0.0.1:8750", api_key, pinned) as client:
        client.sync(store)                                # snapshot first, then changes
        for entry in store.entries(kind="pdq"): ...      # what the matcher indexes

Anything whose signature does not verify against a pinned key, whose sequence numbers are not
contiguous, or whose shape is wrong raises `TamperedListError` and leaves the store unchanged;
an error answer or an unreachable registry raises `RegistryError`.
"""

from __future__ import annotations

from typing import Any

import httpx

from stopframe.errors import ListStoreError, RegistryError
from stopframe.lists.documents import (
    CHANGES,
    SNAPSHOT,
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

    def _request(self, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, headers=self.auth, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryError(f"{path}: registry not reachable: {exc}") from None
        if response.status_code != expected:
            raise RegistryError(f"{path}: {response.status_code} {response.text[:300]}")
        try:
            return response.json()
        except ValueError:
            raise RegistryError(f"{path}: answer is not JSON") from None

    def snapshot(self, store: ListStore) -> int:
        """Replace the store with the registry's verified snapshot; return its entry count."""
        envelope = self._request("GET", "/v1/lists/snapshot", 200)
        snapshot = read_snapshot(verify_document(envelope, self.pinned, SNAPSHOT))
        store.apply_snapshot(snapshot, self.base_url)
        return len(snapshot.entries)

    def pull_changes(self, store: ListStore) -> int:
        """Apply every verified change since the store's sequence; return how many were applied."""
        applied = 0
        while True:
            envelope = self._request(
                "GET", "/v1/lists/changes", 200, params={"after": store.sequence}
            )
            page = read_changes(verify_document(envelope, self.pinned, CHANGES))
            applied += store.apply_changes(page)
            if not page.more:
                return applied

    def sync(self, store: ListStore) -> int:
        """Bring the store up to date: a snapshot the first time, the change feed afterwards;
        return how many entries (snapshot) or changes were applied."""
        if store.registry not in (None, self.base_url):
            raise ListStoreError(
                f"{store.path}: holds the lists of {store.registry}, "
                f"not {self.base_url}; use another file"
            )
        if store.sequence == NEVER_SYNCED:
            return self.snapshot(store)
        return self.pull_changes(store)

    def report(self, entry_id: int, action: str, matched_at: str) -> int:
        """Report a match (entry id, action taken, ISO time); return the report id. Never media."""
        body = self._request(
            "POST",
            "/v1/reports",
            201,
            json={"entry_id": entry_id, "action": action, "matched_at": matched_at},
        )
        return int(body["id"])
