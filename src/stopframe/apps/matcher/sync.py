"""The sync process: the one writer of the list stores and the index set.

Each round brings every source up to date: a registry by its signed change feed (long-polled, so
a new hash is matchable about a second after it is registered), a partner file by diffing it.
Changes go to the index set and are published as a new generation first, then committed to the
list store, so a crash between the two only repeats idempotent work on restart. A registry that
cannot be reached, or a document that fails verification, leaves the last good lists serving;
the source backs off and its status says why. A registry restored from a backup (its epoch went
up) is followed by taking its snapshot again and rebuilding the source's index rows, so entries
the restored registry no longer holds stop matching.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from stopframe.apps.matcher.sources import (
    REGISTRY_SOURCE,
    PartnerSource,
    SourceStores,
    partner_changes,
)
from stopframe.apps.matcher.status import SourceStatus, SyncStatus, read_status
from stopframe.errors import (
    ConfigError,
    FormatError,
    IndexFileError,
    ListStoreError,
    RegistryError,
    TamperedListError,
)
from stopframe.lists.client import RegistryClient, require_https
from stopframe.lists.documents import ChangePage, RegistryRestoredError, Snapshot
from stopframe.lists.store import NEVER_SYNCED, ListStore
from stopframe.matching.index_writer import IndexWriter

log = logging.getLogger("stopframe.apps.matcher")
INDEX_DIR = "index"
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 300.0
LEARNED_KEYS = "learned-keys.json"  # registry key statements, checked from --trust when read


@dataclass(frozen=True)
class RegistrySource:
    """A stopframe registry to follow: its URL, an API key, and its pinned signing keys."""

    url: str
    api_key: str
    trust: dict[str, str]

    @classmethod
    def from_files(cls, url: str, api_key: str, trust_file: Path) -> RegistrySource:
        """Read the pinned keys (`{key_id: base64 public key}`) from `trust_file`; the URL must
        be https:// unless the registry is on this machine."""
        try:
            require_https(url)
        except RegistryError as exc:
            raise ConfigError(str(exc)) from None
        try:
            trust = json.loads(trust_file.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{trust_file}: cannot read pinned keys: {exc}") from None
        if (
            not isinstance(trust, dict)
            or not trust
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in trust.items())
        ):
            raise ConfigError(f"{trust_file}: expected a JSON object {{key_id: base64 key}}")
        return cls(url.rstrip("/"), api_key, trust)


class Syncer:
    """Keeps the stores and the index set of one data dir up to date; one per data dir."""

    def __init__(
        self,
        data_dir: Path,
        registry: RegistrySource | None,
        partners: list[PartnerSource],
        client: RegistryClient | None = None,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.registry = registry
        self.partners = partners
        self.client = client
        if registry is not None and client is None:
            self.client = RegistryClient(
                registry.url, registry.api_key, registry.trust, keys_file=data_dir / LEARNED_KEYS
            )
        self.stores = SourceStores(data_dir)
        self.writer = IndexWriter(data_dir / INDEX_DIR, shard=shard)
        self.status = SyncStatus(pid=os.getpid())
        origins = {p.name: p.origin for p in partners}
        if registry is not None:
            origins[REGISTRY_SOURCE] = registry.url
        previous = read_status(data_dir)
        for name, origin in origins.items():
            before = previous.sources.get(name) if previous else None
            kept = before is not None and before.origin == origin
            self.status.sources[name] = (
                replace(before, failures=0, last_error=None)
                if kept and before
                else SourceStatus(origin=origin)
            )
        self.status.generation = self.writer.generation
        for name in set(self.writer.sources) - set(origins):
            self.writer.drop_source(name)  # a source no longer configured stops matching
        self._next_try: dict[str, float] = {}

    def close(self) -> None:
        """Close the stores and the registry connection."""
        self.stores.close()
        if self.client is not None:
            self.client.close()

    # -- one round -----------------------------------------------------------------------
    def sync_once(self, wait: float = 0.0) -> dict[str, int]:
        """Bring every source due up to date once; return changes applied per source. Errors
        are recorded in the status (and logged), never raised: the old lists keep serving."""
        applied: dict[str, int] = {}
        now = time.monotonic()
        for name in self.status.sources:
            if self._next_try.get(name, 0.0) > now:
                continue
            applied[name] = self._attempt(name, wait)
        if self.writer.dirty:  # a source dropped, or a publish that failed before
            self._publish()
        self.status.write(self.data_dir)
        return applied

    def _attempt(self, name: str, wait: float) -> int:
        status = self.status.sources[name]
        status.last_attempt = time.time()
        try:
            if name == REGISTRY_SOURCE:
                count = self._sync_registry(status, wait)
            else:
                count = self._sync_partner(next(p for p in self.partners if p.name == name), status)
        except TamperedListError as exc:
            status.tampered += 1
            status.last_tampered = str(exc)
            self._failed(name, status, f"refused a list document: {exc}")
            return 0
        except (RegistryError, FormatError, ListStoreError, IndexFileError, OSError) as exc:
            self._failed(name, status, str(exc))
            return 0
        except sqlite3.Error as exc:  # a full disk or a locked file at the store's commit
            self._failed(name, status, f"list store: {exc}")
            return 0
        status.last_success = time.time()
        status.last_error = None
        status.failures = 0
        self._next_try.pop(name, None)
        status.entries = self._entries(name)
        return count

    def _entries(self, name: str) -> int:
        """Active entries in a source's store: what keeps serving, whatever the last attempt."""
        try:
            store = self.stores.store(name)
            return store.count() if store is not None else 0
        except (ListStoreError, sqlite3.Error):
            return 0

    def _failed(self, name: str, status: SourceStatus, why: str) -> None:
        status.entries = self._entries(name)
        status.failures += 1
        status.last_error = why
        delay = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** min(status.failures - 1, 16))
        delay *= 0.5 + random.random() / 2
        self._next_try[name] = time.monotonic() + delay
        log.error(
            "%s: sync failed (attempt %d, next in %.0f s): %s", name, status.failures, delay, why
        )

    # -- registry ------------------------------------------------------------------------
    def _sync_registry(self, status: SourceStatus, wait: float) -> int:
        assert self.client is not None and self.registry is not None
        store = self.stores.store(REGISTRY_SOURCE, create=True)
        assert store is not None
        if store.registry not in (None, self.registry.url):
            raise ListStoreError(
                f"{store.path}: holds the lists of {store.registry}, not {self.registry.url}"
            )
        count = 0
        if store.sequence == NEVER_SYNCED:
            count = self.client.snapshot(store)
        self._align(REGISTRY_SOURCE, self.registry.url, store)
        first = True
        while True:
            page = self.client.changes(store.sequence, wait=wait if first else 0.0)
            first = False
            try:
                count += self._apply_page(REGISTRY_SOURCE, store, page)
            except RegistryRestoredError as exc:
                log.warning("%s: %s", REGISTRY_SOURCE, exc)
                count += self.client.snapshot(store)
                self._align(REGISTRY_SOURCE, self.registry.url, store, rebuild=True)
                page = replace(page, more=True)  # the snapshot's feed position is read next
            status.sequence, status.latest = store.sequence, page.latest
            if not page.more:
                return count

    def _align(self, name: str, origin: str, store: ListStore, rebuild: bool = False) -> None:
        """Make the index set agree with the store after a snapshot or a crash: rebuild the
        source's rows when the published generation is behind the store (or `rebuild`, after
        the snapshot of a restored registry, whose sequence may be behind the index's)."""
        state = self.writer.source(name, origin)
        if rebuild or state.sequence < store.sequence or state.origin != origin:
            indexed = self.writer.rebuild_source(name, store.entries())
            self.writer.set_position(name, store.sequence, store.key_id or "", store.banks())
            self._publish(must=True)
            log.info("%s: %d entries indexed at sequence %d", name, indexed, store.sequence)

    def _apply_page(self, name: str, store: ListStore, page: ChangePage) -> int:
        """Check, index first and publish, then commit to the store (see the module doc)."""
        store.check_changes(page)
        if page.changes or page.banks != store.banks():
            self.writer.apply(name, page.changes)
            self.writer.set_position(name, page.sequence, page.key_id, page.banks)
            self._publish(must=True)
        return store.apply_changes(page)

    def _publish(self, must: bool = False) -> None:
        try:
            manifest = self.writer.publish()
        except IndexFileError as exc:
            self.status.publish_error = str(exc)
            log.error("%s", exc)
            if must:
                raise
            return
        self.status.generation = manifest.generation
        self.status.published_at = time.time()
        self.status.publish_error = None

    # -- partner files -------------------------------------------------------------------
    def _sync_partner(self, source: PartnerSource, status: SourceStatus) -> int:
        store = self.stores.store(source.name, create=True)
        assert store is not None
        if store.sequence == NEVER_SYNCED:
            store.apply_snapshot(Snapshot(0, "", {}, []), source.origin)
        self._align(source.name, source.origin, store)
        page = partner_changes(source, store)
        count = 0 if page is None else self._apply_page(source.name, store, page)
        status.sequence = status.latest = store.sequence
        return count

    # -- the loop ------------------------------------------------------------------------
    def run(self, stop: threading.Event, wait: float, interval: float) -> None:
        """Sync until `stop` is set: long-polls the registry, rechecks partner files every
        `interval` seconds."""
        while not stop.is_set():
            started = time.monotonic()
            self.sync_once(wait if self.registry is not None else 0.0)
            idle = interval - (time.monotonic() - started)
            if self.registry is None or self._next_try:
                stop.wait(max(idle, 0.05))
