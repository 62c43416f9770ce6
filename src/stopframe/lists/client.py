"""Consumer client: pull the signed snapshot and change feed, verify, apply to a local store.

    pinned = {"3f2a...": "<base64 public key>"}          # from the operator, out of band
    store = LocalStore.load(Path("list.json"))           # or LocalStore() the first time
    with RegistryClient("http://127.0.0.1:8750", api_key, pinned) as client:
        client.sync(store)                                # snapshot first, then changes
    store.save(Path("list.json"))
    for entry in store.entries.values(): ...              # what the matcher indexes

Anything whose signature does not verify against a pinned key, whose sequence numbers are not
contiguous, or whose shape is wrong raises `TamperedListError` and leaves the store unchanged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from stopframe.lists.signing import load_public_key, verify_envelope
from stopframe.signals.base import SignalValueError, parse_signal_value


class TamperedListError(Exception):
    """A list document failed verification: bad signature, unpinned key, gap or malformed."""


class RegistryError(Exception):
    """The registry answered with an error (the problem detail is in the message)."""


@dataclass
class ListEntry:
    """One active entry as a consumer holds it."""

    id: int
    bank: str
    kind: str
    value: str
    quality: int | None


@dataclass
class LocalStore:
    """A consumer's copy of the lists: active entries by id, banks, and the sequence it is current to."""

    sequence: int = -1  # -1: never synced; take a snapshot first
    entries: dict[int, ListEntry] = field(default_factory=dict)
    banks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write the store as JSON (atomically: a crash leaves the old file)."""
        data = {"sequence": self.sequence, "banks": self.banks,
                "entries": [vars(e) for e in self.entries.values()]}
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> LocalStore:
        """Read a store written by `save`."""
        data = json.loads(path.read_text())
        entries = {e["id"]: ListEntry(**e) for e in data["entries"]}
        return cls(data["sequence"], entries, data["banks"])


def _entry(raw: Any) -> ListEntry:
    if not isinstance(raw, dict):
        raise TamperedListError("entry is not an object")
    try:
        signal = parse_signal_value(raw["kind"], raw["value"], raw.get("quality"))
        if type(raw["id"]) is not int or not isinstance(raw["bank"], str):
            raise TypeError("id must be an integer and bank text")
    except (KeyError, TypeError, SignalValueError) as exc:
        raise TamperedListError(f"malformed entry: {exc}") from None
    return ListEntry(raw["id"], raw["bank"], signal.kind.value, signal.value, signal.quality)


def _banks(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    banks = payload.get("banks")
    if not isinstance(banks, list):
        raise TamperedListError("banks missing")
    return {b["name"]: b for b in banks}


def verify(envelope: Any, pinned: dict[str, Any], expected_type: str) -> dict[str, Any]:
    """Verify an envelope against pinned keys and check its type; return the payload."""
    if not isinstance(envelope, dict):
        raise TamperedListError("document is not a signed envelope")
    try:
        payload = verify_envelope(envelope, pinned)
    except ValueError as exc:
        raise TamperedListError(str(exc)) from None
    if payload.get("type") != expected_type or payload.get("version") != 1:
        raise TamperedListError(f"expected a version 1 {expected_type} document")
    return payload


def apply_snapshot(store: LocalStore, payload: dict[str, Any]) -> None:
    """Replace the store's content with a verified snapshot payload."""
    entries = {e.id: e for e in map(_entry, payload.get("entries") or [])}
    sequence = payload.get("sequence")
    if type(sequence) is not int or sequence < 0:
        raise TamperedListError("snapshot sequence missing")
    store.entries, store.banks, store.sequence = entries, _banks(payload), sequence


def apply_changes(store: LocalStore, payload: dict[str, Any]) -> None:
    """Apply a verified change page, refusing gaps, reordering or a page for another position."""
    if payload.get("after") != store.sequence:
        raise TamperedListError(f"change page starts after {payload.get('after')}, "
                                f"store is at {store.sequence}")
    staged = dict(store.entries)
    expected = store.sequence
    for change in payload.get("changes") or []:
        expected += 1
        if not isinstance(change, dict) or change.get("sequence") != expected:
            raise TamperedListError(f"change sequence gap or reorder at {expected}")
        entry = _entry(change.get("entry"))
        if change.get("op") == "add":
            staged[entry.id] = entry
        elif change.get("op") == "withdraw":
            staged.pop(entry.id, None)
        else:
            raise TamperedListError(f"unknown change op {change.get('op')!r}")
    if payload.get("sequence") != expected:
        raise TamperedListError("page sequence does not match its last change")
    store.entries, store.banks, store.sequence = staged, _banks(payload), expected


class RegistryClient:
    """HTTP client for a registry's signed lists and match reports."""

    def __init__(self, base_url: str, api_key: str, pinned_keys: dict[str, str],
                 timeout: float = 60.0, http: httpx.Client | None = None) -> None:
        """`base_url` is the server root (http://host:port); `http` may supply a ready client."""
        self.pinned = {kid: load_public_key(b64) for kid, b64 in pinned_keys.items()}
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self.auth = {"Authorization": f"Bearer {api_key}"}

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params, headers=self.auth)
        if response.status_code != 200:
            raise RegistryError(f"{path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def snapshot(self, store: LocalStore) -> None:
        """Replace the store with the registry's verified snapshot."""
        apply_snapshot(store, verify(self._get("/v1/lists/snapshot"), self.pinned, "snapshot"))

    def pull_changes(self, store: LocalStore) -> int:
        """Apply every verified change since the store's sequence; return how many were applied."""
        applied = 0
        while True:
            before = store.sequence
            payload = verify(self._get("/v1/lists/changes", after=store.sequence), self.pinned, "changes")
            apply_changes(store, payload)
            applied += store.sequence - before
            if not payload.get("more"):
                return applied

    def sync(self, store: LocalStore) -> int:
        """Bring the store up to date: a snapshot the first time, the change feed afterwards."""
        if store.sequence < 0:
            self.snapshot(store)
            return len(store.entries)
        return self.pull_changes(store)

    def report(self, entry_id: int, action: str, matched_at: str) -> int:
        """Report a match (entry id, action taken, ISO time); return the report id. Never media."""
        response = self.http.post("/v1/reports", headers=self.auth, json={
            "entry_id": entry_id, "action": action, "matched_at": matched_at})
        if response.status_code != 201:
            raise RegistryError(f"/v1/reports: {response.status_code} {response.text[:300]}")
        return response.json()["id"]
