"""Snapshot pages are built once per (sequence, stamp, key, bounds) and shared: parallel pulls get
the very same signed bytes, any committed change, a new signing key or a new epoch gives a fresh
page, and the cache stays within its byte bound and its time to live."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import update

from stopframe.apps.registry import snapshot_cache
from stopframe.apps.registry.models import Counter
from stopframe.apps.registry.services import banks, feed
from stopframe.apps.registry.snapshot_cache import PageKey, SnapshotCache, ttl_for
from stopframe.apps.registry.state import Registry
from stopframe.lists.signing import load_public_key, rotate, verify_envelope

SNAPSHOT = "/v1/lists/snapshot"


def pull(client: TestClient, headers: dict[str, dict[str, str]], **params: int) -> bytes:
    response = client.get(SNAPSHOT, params=params, headers=headers["read"])
    assert response.status_code == 200, response.text
    assert response.headers["content-length"] == str(len(response.content))
    return response.content


def payload_of(body: bytes, registry: Registry) -> dict:  # type: ignore[type-arg]
    pinned = {k["key_id"]: load_public_key(k["public_key"]) for k in registry.keyring.published()}
    return verify_envelope(json.loads(body), pinned)


def test_parallel_pulls_share_one_build_and_the_same_bytes(
    client: TestClient,
    headers: dict[str, dict[str, str]],
    registry: Registry,
    add_entries: Callable[..., list[int]],
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    add_entries(300)
    builds = []
    build = snapshot_cache.build_page

    def slow_build(reg: Registry, after_id: int, limit: int) -> tuple[PageKey, bytes]:
        builds.append(after_id)
        time.sleep(0.3)  # every pull arrives while the first build is under way
        return build(reg, after_id, limit)

    monkeypatch.setattr(snapshot_cache, "build_page", slow_build)
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: pull(client, headers, limit=200), range(8)))
    assert len(set(bodies)) == 1 and builds == [0]
    assert len(payload_of(bodies[0], registry)["entries"]) == 200
    assert pull(client, headers, limit=200) == bodies[0]  # a later pull: still the same page
    assert pull(client, headers, limit=100) != bodies[0] and builds == [0, 0]  # other bounds


def test_a_change_gives_a_fresh_page(
    client: TestClient,
    headers: dict[str, dict[str, str]],
    registry: Registry,
    add_entries: Callable[..., list[int]],
) -> None:
    add_entries(5)
    first = pull(client, headers)
    assert pull(client, headers) == first
    added = add_entries(1)
    fresh = payload_of(pull(client, headers), registry)
    assert fresh["sequence"] == payload_of(first, registry)["sequence"] + 1
    assert added[0] in {e["id"] for e in fresh["entries"]}


def test_a_change_that_moves_only_the_audit_log_gives_a_fresh_page(
    client: TestClient,
    headers: dict[str, dict[str, str]],
    registry: Registry,
    add_entries: Callable[..., list[int]],
) -> None:
    add_entries(5)
    first = pull(client, headers)
    assert pull(client, headers) == first
    with registry.db.write() as session:
        banks.create_bank(session, "partner", ["sha256"], "test")  # no feed change
    fresh = payload_of(pull(client, headers), registry)
    assert fresh["sequence"] == payload_of(first, registry)["sequence"]
    assert "partner" in {b["name"] for b in fresh["banks"]}


def test_a_rotated_key_never_gets_the_old_signed_bytes(
    client: TestClient,
    headers: dict[str, dict[str, str]],
    registry: Registry,
    add_entries: Callable[..., list[int]],
) -> None:
    add_entries(5)
    first = pull(client, headers)
    assert pull(client, headers) == first
    registry.keyring = rotate(registry.settings.signing_dir)
    fresh = payload_of(pull(client, headers), registry)
    assert fresh["key_id"] != payload_of(first, registry)["key_id"]
    assert fresh["key_id"] == registry.keyring.published()[-1]["key_id"]


def test_a_higher_epoch_never_gets_the_old_signed_bytes(
    client: TestClient,
    headers: dict[str, dict[str, str]],
    registry: Registry,
    add_entries: Callable[..., list[int]],
) -> None:
    add_entries(5)
    first = pull(client, headers)
    assert pull(client, headers) == first
    with registry.db.write() as session:
        session.execute(update(Counter).where(Counter.name == feed.EPOCH_COUNTER).values(value=2))
    assert payload_of(pull(client, headers), registry)["epoch"] == 2


def key(n: int) -> PageKey:
    return PageKey("r", 1, n, "0:x", "k", 0, 10)


def test_the_cache_keeps_within_its_bytes_least_recently_used_first() -> None:
    cache = SnapshotCache(max_bytes=250, ttl_s=60)
    for n in range(3):
        cache.put(key(n), bytes(100))
    assert cache.size <= 250 and len(cache) == 2 and cache.get(key(0)) is None
    assert cache.get(key(1)) is not None  # 1 is now the most recently used
    cache.put(key(3), bytes(100))
    assert cache.get(key(2)) is None and cache.get(key(1)) is not None
    cache.put(key(4), bytes(251))  # larger than the whole cache: served, never kept
    assert cache.get(key(4)) is None and cache.size == 200


def test_a_cached_page_expires_well_before_its_stamp() -> None:
    now = [0.0]
    cache = SnapshotCache(max_bytes=1000, ttl_s=ttl_for(7 * 24 * 3600), clock=lambda: now[0])
    assert cache.ttl_s <= 60
    assert ttl_for(60) == 3
    cache.put(key(1), b"page")
    now[0] = cache.ttl_s - 0.1
    assert cache.get(key(1)) == b"page"
    now[0] = cache.ttl_s
    assert cache.get(key(1)) is None and cache.size == 0


def test_waiters_on_a_failed_build_build_again() -> None:
    cache = SnapshotCache(max_bytes=1000, ttl_s=60)
    started = threading.Event()
    calls = []

    def build() -> tuple[PageKey, bytes]:
        calls.append(1)
        if len(calls) == 1:
            started.set()
            time.sleep(0.2)
            raise RuntimeError("database went away")
        return key(1), b"page"

    def first() -> bytes | None:
        try:
            return cache.get_or_build(key(1), build)
        except RuntimeError:
            return None

    with ThreadPoolExecutor(2) as pool:
        failed = pool.submit(first)
        started.wait()
        assert pool.submit(cache.get_or_build, key(1), build).result() == b"page"
    assert failed.result() is None and len(calls) == 2 and cache.get(key(1)) == b"page"
