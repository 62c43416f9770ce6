"""Remember recent successful PIN checks in-process, so a case holder's run of requests costs one
scrypt rather than one per request.

Kept per case number: HMAC-SHA256(pin) under a random key that lives only in this process, and an
expiry. A wrong PIN never hits the cache and always pays the full scrypt (and the case's rate
limit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time


class PinCache:
    """Verified (case number, PIN) pairs for `ttl` seconds, at most `size` of them."""

    def __init__(self, ttl: float = 600.0, size: int = 50_000) -> None:
        self.ttl = ttl
        self.size = size
        self._key = secrets.token_bytes(32)
        self._items: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def _mac(self, number: str, pin: str) -> bytes:
        return hmac.new(self._key, f"{number}\0{pin}".encode(), hashlib.sha256).digest()

    def hit(self, number: str, pin: str) -> bool:
        """True if this PIN was verified for this case within the last `ttl` seconds."""
        with self._lock:
            item = self._items.get(number)
        return (
            item is not None
            and item[1] > time.monotonic()
            and hmac.compare_digest(item[0], self._mac(number, pin))
        )

    def remember(self, number: str, pin: str) -> None:
        """Record a successful check."""
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[number] = (self._mac(number, pin), time.monotonic() + self.ttl)
