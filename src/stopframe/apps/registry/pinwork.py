"""PIN hashing and checking at the current scrypt cost, a bounded number at once, so wrong PINs
cannot take every CPU: a request waits a short while for a turn, then gets 503 + Retry-After."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from stopframe.apps.registry.credentials import check_pin, dummy_pin_hash, hash_pin, scrypt_n_of
from stopframe.errors import Unavailable


class PinWork:
    """scrypt for case PINs at cost `scrypt_n`, at most `workers` runs at once; a caller waits up
    to `wait_s` seconds for a turn."""

    def __init__(self, scrypt_n: int, workers: int = 2, wait_s: float = 5.0) -> None:
        self.scrypt_n = scrypt_n
        self.wait_s = wait_s
        self._turns = threading.BoundedSemaphore(workers)

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if not self._turns.acquire(timeout=self.wait_s):
            raise Unavailable("too many PIN checks at once; try again shortly", retry_after=1)
        try:
            yield
        finally:
            self._turns.release()

    def hash(self, pin: str) -> str:
        """The PIN's stored form at the current cost."""
        with self._turn():
            return hash_pin(pin, self.scrypt_n)

    def check(self, pin: str, stored: str | None) -> bool:
        """True when `pin` matches `stored`; None (no such case) and hashes made at a smaller N
        cost the same as a hash at the current N."""
        with self._turn():
            return check_pin(pin, stored or dummy_pin_hash(self.scrypt_n), self.scrypt_n)

    def is_current(self, stored: str) -> bool:
        """True when `stored` was made at the current cost (else it is rehashed on next login)."""
        return scrypt_n_of(stored) == self.scrypt_n
