"""Signed snapshot pages kept as bytes, so parallel and repeated pulls of one page cost one build.

A page is keyed by everything its signed bytes depend on: the registry id, epoch, feed sequence
and audit head it was read at (any committed write moves one of them), the signing key id and the
page bounds. Pulls of a page nobody holds yet wait for one build and share its bytes. Pages keep
their original stamp, so they are dropped well before it expires (`ttl_for`), and the cache holds
at most `snapshot_cache_bytes`, least recently used pages going first. Answers are streamed in
chunks over the one shared copy.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from stopframe.apps.registry.auth import registry
from stopframe.apps.registry.services import feed
from stopframe.apps.registry.state import Registry
from stopframe.lists.canonical import canonical_json
from stopframe.lists.signing import key_id_of

CHUNK = 1 << 20  # bytes per streamed piece of a page
TTL_FRACTION = 20  # a cached page is served for at most 1/20 of the list max age ...
TTL_MAX_S = 60.0  # ... and never more than a minute (a consumer refuses a page issued before
# the last one it applied, so a re-snapshot must not get a page much older than the feed's)
_MADE = threading.Lock()  # guards making an app's cache once


@dataclass(frozen=True)
class PageKey:
    """What a signed snapshot page's bytes depend on."""

    registry_id: str
    epoch: int
    sequence: int
    audit_head: str
    key_id: str
    after_id: int
    limit: int


def key_of(payload: dict[str, Any], after_id: int, limit: int) -> PageKey:
    """The key of a page from its (signed or about to be) payload's stamp and sequence."""
    return PageKey(
        payload["registry_id"],
        payload["epoch"],
        payload["sequence"],
        payload["audit_head"],
        payload["key_id"],
        after_id,
        limit,
    )


@dataclass
class _Flight:
    """One build of a page that other pulls of the same key wait on."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    body: bytes | None = None


class SnapshotCache:
    """Signed page bytes by key: bounded in bytes (LRU), each served for `ttl_s` after its build,
    built once however many pulls ask at the same time."""

    def __init__(
        self, max_bytes: int, ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.clock = clock
        self.size = 0
        self._pages: OrderedDict[PageKey, tuple[bytes, float]] = OrderedDict()
        self._flights: dict[PageKey, _Flight] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pages)

    def get(self, key: PageKey) -> bytes | None:
        """The page's bytes while fresh, else None (an expired page is dropped)."""
        with self._lock:
            found = self._pages.get(key)
            if found is None:
                return None
            body, until = found
            if self.clock() >= until:
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return body

    def get_or_build(self, key: PageKey, build: Callable[[], tuple[PageKey, bytes]]) -> bytes:
        """The page at `key`, built by `build` (which returns the key it really read at) once for
        every pull waiting on it; a page read at another key is kept under that one."""
        body = self.get(key)
        if body is not None:
            return body
        with self._lock:
            flight = self._flights.setdefault(key, _Flight())
        try:
            with flight.lock:
                if flight.body is None:
                    flight.body = self.get(key)
                if flight.body is None:
                    built, flight.body = build()
                    self.put(built, flight.body)
                return flight.body
        finally:
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]

    def put(self, key: PageKey, body: bytes) -> None:
        """Keep `body` under `key`, dropping the least recently used pages to stay in bounds; a
        page larger than the whole cache is not kept."""
        if len(body) > self.max_bytes:
            return
        with self._lock:
            if key in self._pages:
                self._drop(key)
            self._pages[key] = (body, self.clock() + self.ttl_s)
            self.size += len(body)
            while self.size > self.max_bytes:
                self._drop(next(iter(self._pages)))

    def _drop(self, key: PageKey) -> None:
        body, _ = self._pages.pop(key)
        self.size -= len(body)


def ttl_for(max_age_s: int) -> float:
    """How long a page may be served after its build: a small part of its validity, so a
    consumer always gets a page with most of its max age left."""
    return min(max_age_s / TTL_FRACTION, TTL_MAX_S)


def snapshot_cache(request: Request) -> SnapshotCache:
    """The running app's snapshot cache, made on first use from the registry's settings."""
    state = request.app.state
    with _MADE:
        cache: SnapshotCache | None = getattr(state, "snapshot_cache", None)
        if cache is None:
            settings = registry(request).settings
            cache = SnapshotCache(settings.snapshot_cache_bytes, ttl_for(settings.list_max_age_s))
            state.snapshot_cache = cache
    return cache


def current_key(reg: Registry, after_id: int, limit: int) -> PageKey:
    """The key a page read now would have: the current sequence, stamp and signing key."""
    with reg.db.read() as session:
        now = feed.stamp(session, reg.settings.list_max_age_s)
        now |= {"sequence": feed.current_sequence(session)}
    now["key_id"] = key_id_of(reg.keyring.current.public_key())
    return key_of(now, after_id, limit)


def build_page(reg: Registry, after_id: int, limit: int) -> tuple[PageKey, bytes]:
    """Read, stamp and sign one snapshot page; its key and canonical envelope bytes."""
    with reg.db.read() as session:
        payload = feed.snapshot_payload(session, after_id, limit)
        payload |= feed.stamp(session, reg.settings.list_max_age_s)
    envelope = reg.keyring.sign(payload)
    return key_of(envelope["payload"], after_id, limit), canonical_json(envelope)


def signed_page(reg: Registry, cache: SnapshotCache, after_id: int, limit: int) -> bytes:
    """A snapshot page's signed bytes, from the cache when it holds the current one."""
    if cache.max_bytes == 0:
        return build_page(reg, after_id, limit)[1]
    return cache.get_or_build(
        current_key(reg, after_id, limit), lambda: build_page(reg, after_id, limit)
    )


def streamed(body: bytes) -> StreamingResponse:
    """Send `body` as JSON in `CHUNK` pieces, so the server never holds a second whole copy."""

    async def pieces() -> AsyncIterator[bytes]:
        view = memoryview(body)
        for start in range(0, len(body), CHUNK):
            yield bytes(view[start : start + CHUNK])

    return StreamingResponse(
        pieces(), media_type="application/json", headers={"Content-Length": str(len(body))}
    )
