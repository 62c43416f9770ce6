"""Consumer client: pull the signed snapshot and change feed, verify, apply to a `ListStore`.

    pinned = {"3f2a...": "<base64 public key>"}          # from the operator, out of band
    with ListStore.open(Path("lists.sqlite")) as store, \\
            RegistryClient("https://registry.example", api_key, pinned) as client:
        client.sync(store)                                # snapshot first, then changes
        for entry in store.entries(kind="pdq"): ...      # what the matcher indexes
        client.sync(store, wait=25)                       # long-poll: answers on the next change

A caller that must act on changes before the store records them (the matcher updates its index
first) fetches with `changes(after, wait)` and applies with `ListStore.apply_changes` itself.

Anything whose signature does not verify against a pinned key, whose sequence numbers are not
contiguous, whose page is not the one asked for, or whose shape is wrong raises
`TamperedListError` and leaves the store unchanged; an error answer or an unreachable registry
raises `RegistryError`.

Every document carries a stamp (registry id, epoch, issued and expiry times): an expired one, or
one that would take the store back (another registry, an older epoch or issue time, a replayed
change page) raises `StaleListError`, a `TamperedListError`. When the registry's epoch went up
(it was restored from a backup) `sync` takes a new snapshot, so the store ends exactly as the
restored registry. The registry must be reached over HTTPS unless it is on this machine.

A document signed by a key it does not know sends the client to the registry's key statements
(`stopframe.lists.rotation`): a new key named by a rotation statement that chains back to a
pinned key is trusted from then on (kept in `keys_file`, checked again from the pinned keys when
read), and keys the registry retired are no longer trusted, pinned or not.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from stopframe.errors import ListStoreError, RegistryError, TamperedListError
from stopframe.lists.canonical import canonical_json, iso, utcnow
from stopframe.lists.documents import (
    CHANGES,
    SNAPSHOT,
    ChangePage,
    RegistryRestoredError,
    Snapshot,
    StaleListError,
    Stamp,
    read_changes,
    read_snapshot,
    read_stamp,
    verify_document,
)
from stopframe.lists.rotation import follow, statements_of
from stopframe.lists.signing import load_public_key
from stopframe.lists.store import NEVER_SYNCED, ListStore

log = logging.getLogger("stopframe.lists")


def is_loopback_host(host: str) -> bool:
    """True when `host` names this machine: localhost, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_https(url: str) -> None:
    """Refuse a registry URL that is not https://, unless its host is loopback (lists and API
    keys must not cross a network in the clear)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and is_loopback_host(parts.hostname or ""):
        return
    raise RegistryError(
        f"{url}: a registry must be reached over https:// (plain http only on loopback: "
        "localhost, 127.0.0.0/8, ::1)"
    )


def fresh(stamp: Stamp) -> Stamp:
    """`stamp` when its document has not expired; StaleListError otherwise."""
    if stamp.expires_at <= utcnow():
        raise StaleListError("expired", f"document expired at {iso(stamp.expires_at)}")
    return stamp


class RegistryClient:
    """HTTP client for a registry's signed lists and match reports."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        pinned_keys: dict[str, str],
        timeout: float = 60.0,
        http: httpx.Client | None = None,
        keys_file: Path | None = None,
    ) -> None:
        """`base_url` is the server root (https://host[:port], or http:// on loopback); `http`
        may supply a ready client, whose transport is then the caller's to secure; `keys_file`
        keeps the key statements learned, so keys learned survive a restart."""
        if http is None:
            require_https(base_url)
        self.base_url = base_url.rstrip("/")
        self.anchors = {kid: load_public_key(b64) for kid, b64 in pinned_keys.items()}
        self.pinned = dict(self.anchors)
        self.retired: frozenset[str] = frozenset()
        self.keys_file = keys_file
        self.statements: dict[str, list[Any]] = {"rotations": [], "retirements": []}
        if keys_file is not None and keys_file.exists():
            self._adopt(self._stored(keys_file))
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

    @staticmethod
    def _stored(path: Path) -> dict[str, list[Any]]:
        """The statements kept in `path`; none when it cannot be read (they are learned again
        from the registry when a document needs them)."""
        try:
            rotations, retirements = statements_of(json.loads(path.read_text()))
        except (OSError, ValueError, TamperedListError) as exc:
            log.warning("%s: learned signing keys not read, the pinned ones only: %s", path, exc)
            return {"rotations": [], "retirements": []}
        return {"rotations": rotations, "retirements": retirements}

    def _adopt(self, statements: dict[str, list[Any]]) -> bool:
        """Trust what `statements` (with those held, which come first) chain to from the pinned
        keys, holding only the statements that showed it; True when that changed the keys
        trusted or retired."""
        merged = {
            name: list({canonical_json(s): s for s in self.statements[name] + new}.values())
            for name, new in statements.items()
        }
        trust = follow(self.anchors, merged["rotations"], merged["retirements"])
        changed = set(trust.keys) != set(self.pinned) or trust.retired != self.retired
        self.statements = {"rotations": trust.rotations, "retirements": trust.retirements}
        self.pinned, self.retired = trust.keys, trust.retired
        return changed

    def learn_keys(self) -> bool:
        """Fetch the registry's key statements and trust the new keys they chain to from a pinned
        key (dropping retired ones); kept in `keys_file` when it changed anything. True then."""
        rotations, retirements = statements_of(self._request("GET", "/v1/keys/rotations", 200))
        changed = self._adopt({"rotations": rotations, "retirements": retirements})
        if changed:
            log.warning(
                "registry signing keys now trusted: %s; retired: %s",
                ", ".join(sorted(self.pinned)),
                ", ".join(sorted(self.retired)) or "none",
            )
            if self.keys_file is not None:
                self._keep(self.keys_file)
        return changed

    def _keep(self, path: Path) -> None:
        """Write the statements held to `path` in one rename."""
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        draft.write_text(json.dumps(self.statements, indent=1) + "\n")
        os.replace(draft, path)

    def _verified(self, envelope: Any, expected_type: str) -> dict[str, Any]:
        """`verify_document`, after learning the registry's key statements when the envelope is
        signed by a key not trusted yet; a retired key's documents are refused."""
        payload = envelope.get("payload") if isinstance(envelope, dict) else None
        key_id = payload.get("key_id") if isinstance(payload, dict) else None
        if isinstance(key_id, str) and key_id not in self.pinned and key_id not in self.retired:
            try:
                self.learn_keys()
            except (RegistryError, TamperedListError) as exc:  # the check below says it all
                log.warning("no key statements to learn %s from: %s", key_id, exc)
        if key_id in self.retired:
            raise TamperedListError(f"document signed by {key_id}, a retired signing key")
        return verify_document(envelope, self.pinned, expected_type)

    def snapshot_page(self, after_id: int = 0, limit: int | None = None) -> Snapshot:
        """One verified snapshot page, not applied: the active entries with id > `after_id`
        (at most `limit`, else the registry's page size). A page for another place than the one
        asked for (replayed or shifted) is refused with TamperedListError."""
        params: dict[str, int] = {"after_id": after_id}
        if limit is not None:
            params["limit"] = limit
        envelope = self._request("GET", "/v1/lists/snapshot", 200, params=params)
        payload = self._verified(envelope, SNAPSHOT)
        page = read_snapshot(payload, fresh(read_stamp(payload)))
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
        payload = self._verified(envelope, CHANGES)
        page = read_changes(payload, fresh(read_stamp(payload)))
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
        try:
            return self.pull_changes(store, wait)
        except RegistryRestoredError:  # restored from a backup: start again from its snapshot
            return self.snapshot(store)

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
