"""Long-poll support: requests waiting for the change feed to move past a sequence.

A write that appends changes in this process wakes the waiters as soon as it commits (the
database's write path calls `advanced`); writes this process cannot see coming (another worker,
another replica, a PostgreSQL writer) are caught by re-reading the feed counter every `interval`
seconds. Waiting is an awaited event, so a waiting request holds no thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from contextlib import suppress

POLL_SECONDS = 0.2


class FeedWatch:
    """The waiters on the feed of one process, from any thread or event loop."""

    def __init__(self, interval: float = POLL_SECONDS) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._waiters: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}

    def advanced(self) -> None:
        """Wake every waiter: the feed moved (call after the commit, from any thread)."""
        with self._lock:
            waiters = list(self._waiters.items())
        for event, loop in waiters:
            with suppress(RuntimeError):  # its loop has closed: nobody is waiting there
                loop.call_soon_threadsafe(event.set)

    async def wait_beyond(
        self, after: int, timeout: float, latest: Callable[[], Awaitable[int]]
    ) -> bool:
        """Wait up to `timeout` seconds for the feed to pass `after`; True when it has.
        `latest` reads the committed feed sequence; it runs on each wake-up and poll."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        deadline = loop.time() + timeout
        with self._lock:
            self._waiters[event] = loop
        try:
            while True:
                event.clear()  # before the read: a commit after it sets the event again
                if await latest() > after:
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(self.interval, remaining))
        finally:
            with self._lock:
                del self._waiters[event]
