"""In-process token buckets for per-key, per-case and per-address rate limits.

Limits are per server process: with several workers or replicas each keeps its own buckets, so
the effective limit is the per-process limit times the number of processes.
"""

from __future__ import annotations

import threading
import time

from stopframe.errors import RateLimited


class TokenBuckets:
    """A token bucket per name: `rate` tokens per second refill up to `burst`."""

    def __init__(self, rate: float, burst: int, max_names: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_names = max_names
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, name: str) -> float:
        """Take one token for `name`; return 0 if allowed, else seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._state.get(name, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
            if tokens >= 1:
                if len(self._state) >= self.max_names and name not in self._state:
                    self._state.clear()  # bounded memory; forgetting only ever grants a full bucket
                self._state[name] = (tokens - 1, now)
                return 0.0
            self._state[name] = (tokens, now)
            return (1 - tokens) / self.rate

    def wait(self, name: str) -> float:
        """Seconds until `name` has a token to spend (0 if it has one now); takes nothing."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._state.get(name, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


def refuse_if_empty(buckets: TokenBuckets, name: str, what: str) -> None:
    """RateLimited naming `what` and the wait when `name`'s bucket is empty; spends nothing."""
    wait = buckets.wait(name)
    if wait:
        raise RateLimited(f"rate limit for this {what} reached", retry_after=max(1, round(wait)))


def take_or_refuse(buckets: TokenBuckets, name: str, what: str) -> None:
    """Spend one token of `name`'s bucket, or RateLimited naming `what` and the wait."""
    wait = buckets.take(name)
    if wait:
        raise RateLimited(f"rate limit for this {what} reached", retry_after=max(1, round(wait)))
