"""Long-poll on the change feed: a request with `wait` is answered as soon as a change commits,
whether this process wrote it (woken at once) or another writer did (seen by polling), answers an
empty page at the timeout, holds no worker thread while it waits, and refuses waits over 30 s."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anyio.to_thread
import pytest

from stopframe.apps.registry.db import open_database
from stopframe.apps.registry.services import feed
from stopframe.lists.client import RegistryClient
from stopframe.lists.documents import ChangePage
from stopframe.lists.store import ListStore


@pytest.fixture
def rc(client, headers, pinned) -> RegistryClient:  # type: ignore[no-untyped-def]
    """A consumer with a read key and the registry's keys pinned, talking to the app."""
    key = headers["read"]["Authorization"].removeprefix("Bearer ")
    return RegistryClient("http://testserver", key, pinned, http=client)


def latest(registry) -> int:  # type: ignore[no-untyped-def]
    with registry.db.read() as session:
        return feed.current_sequence(session)


def wait_in_background(rc: RegistryClient, after: int, wait: float):  # type: ignore[no-untyped-def]
    """Start `rc.changes(after, wait)` in a thread; return (future, pool)."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(lambda: (rc.changes(after, wait=wait), time.monotonic()))
    time.sleep(0.5)  # let the request reach the route and start waiting
    assert not future.done(), "the request should be waiting for a change"
    return future, pool


def test_a_commit_in_this_process_wakes_a_waiting_request(rc, registry, add_entries) -> None:  # type: ignore[no-untyped-def]
    add_entries(2)
    registry.db.feed_watch.interval = 60  # no polling to fall back on: only the wake-up answers
    after = latest(registry)
    future, pool = wait_in_background(rc, after, wait=10)
    committed = time.monotonic()
    (new_id,) = add_entries(1)
    page, answered = future.result(timeout=15)
    pool.shutdown()
    assert answered - committed < 2.0, f"answered {answered - committed:.2f} s after the commit"
    assert isinstance(page, ChangePage) and page.after == after
    assert [(c.sequence, c.op, c.entry.id) for c in page.changes] == [(after + 1, "add", new_id)]


def test_a_commit_by_another_writer_is_seen_by_polling(rc, registry, add_entries) -> None:  # type: ignore[no-untyped-def]
    other = open_database(
        registry.db.url
    )  # another process's engines: its commits wake no one here
    after = latest(registry)
    try:
        future, pool = wait_in_background(rc, after, wait=10)
        committed = time.monotonic()
        (new_id,) = add_entries(1, db=other)
        page, answered = future.result(timeout=15)
        pool.shutdown()
    finally:
        other.dispose()
    assert answered - committed < 2.0, f"answered {answered - committed:.2f} s after the commit"
    assert [c.entry.id for c in page.changes] == [new_id]


def test_nothing_new_answers_an_empty_page_at_the_timeout(rc, registry) -> None:  # type: ignore[no-untyped-def]
    after = latest(registry)
    started = time.monotonic()
    page = rc.changes(after, wait=1)
    took = time.monotonic() - started
    assert 0.9 <= took < 3.0, took
    assert (page.after, page.sequence, page.more, page.changes) == (after, after, False, [])


def test_sync_waits_on_its_first_request_only(rc, add_entries, tmp_path) -> None:  # type: ignore[no-untyped-def]
    add_entries(3)
    with ListStore.open(tmp_path / "lists.sqlite") as store:
        assert rc.sync(store, wait=5) == 3  # the first sync is a snapshot: no wait
        started = time.monotonic()
        assert rc.sync(store, wait=0.5) == 0  # up to date: held for the wait, then nothing
        assert time.monotonic() - started >= 0.4
        add_entries(1)
        started = time.monotonic()
        assert rc.sync(store, wait=5) == 1  # a change is there already: no wait at all
        assert time.monotonic() - started < 1.0 and store.count() == 4


def test_waiting_requests_hold_no_worker_thread(client, headers, registry) -> None:  # type: ignore[no-untyped-def]
    async def two_threads() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 2

    client.portal.call(two_threads)  # the app's sync routes now share two threads
    after = latest(registry)
    waiting = 6
    with ThreadPoolExecutor(max_workers=waiting) as pool:
        futures = [
            pool.submit(
                client.get, f"/v1/lists/changes?after={after}&wait=3", headers=headers["read"]
            )
            for _ in range(waiting)
        ]
        time.sleep(0.5)
        started = time.monotonic()
        health = client.get("/v1/health")
        took = time.monotonic() - started
        assert health.status_code == 200 and took < 1.0, f"a plain request took {took:.2f} s"
        assert not any(f.done() for f in futures), "the waiting requests answered early"
        answers = [f.result(timeout=15) for f in futures]
    assert all(a.status_code == 200 and a.json()["payload"]["changes"] == [] for a in answers)


@pytest.mark.parametrize("wait", ["31", "-1", "30.5", "soon"])
def test_a_wait_out_of_range_is_refused(client, headers, wait) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/v1/lists/changes?after=0&wait={wait}", headers=headers["read"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "wait" in response.json()["detail"]


def test_a_wait_does_not_delay_a_page_that_has_changes(client, headers, add_entries) -> None:  # type: ignore[no-untyped-def]
    add_entries(2)
    started = time.monotonic()
    response = client.get("/v1/lists/changes?after=0&wait=30", headers=headers["read"])
    assert response.status_code == 200 and len(response.json()["payload"]["changes"]) == 2
    assert time.monotonic() - started < 2.0


def test_the_wake_up_reaches_every_waiter(rc, registry, add_entries) -> None:  # type: ignore[no-untyped-def]
    registry.db.feed_watch.interval = 60
    after = latest(registry)
    results: list[int] = []
    lock = threading.Lock()

    def waiter() -> None:
        page = rc.changes(after, wait=10)
        with lock:
            results.append(len(page.changes))

    threads = [threading.Thread(target=waiter) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    add_entries(1)
    for thread in threads:
        thread.join(timeout=15)
    assert time.monotonic() - started < 3.0 and results == [1, 1, 1, 1]
