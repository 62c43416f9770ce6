"""Intake challenges: stateless, HMAC-signed proof-of-work tokens with an expiry, each usable once.

A challenge reads `<expires>.<bits>.<random>.<mac>`: the Unix time it expires, the difficulty it
was issued with, 16 random bytes and an HMAC-SHA256 of the rest under a secret kept in the data
folder (`intake-secret`, mode 0600, created on first use and never logged). Spent challenges are
remembered in memory until they expire, so each opens at most one case per process; with several
processes behind one address, each keeps its own memory (as the rate limits do).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stopframe.apps.proof_of_work import is_solved
from stopframe.errors import ServiceError, Unavailable

SECRET_FILE = "intake-secret"
SECRET_BYTES = 32
_LABEL = b"stopframe-intake-challenge-v1\0"
TOKEN_PATTERN = re.compile(r"\d{1,12}\.\d{1,2}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", re.ASCII)


class BadChallenge(ServiceError):
    """A challenge that is malformed, forged, expired, already used or not solved."""

    status = 400


@dataclass(frozen=True)
class Challenge:
    """A challenge as handed out: the token, its difficulty and seconds until it expires."""

    token: str
    difficulty: int
    expires_in: int


def load_secret(data_dir: Path) -> bytes:
    """The challenge secret in `data_dir`, created (0600, atomically) if there is none yet."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = data_dir / f".{SECRET_FILE}.{secrets.token_hex(8)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(SECRET_BYTES))
            try:
                os.link(draft, path)  # fails if another process made one first: theirs wins
            except FileExistsError:
                pass
        finally:
            draft.unlink(missing_ok=True)
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise ValueError(f"{path}: not a challenge secret ({len(secret)} bytes); delete it")
    return secret


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ChallengeBook:
    """Issues challenges and spends each solved one once; `max_spent` bounds the memory and
    `clock` (Unix seconds) dates everything."""

    def __init__(
        self,
        secret: bytes,
        ttl: int,
        max_spent: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self.ttl = ttl
        self.max_spent = max_spent
        self.clock = clock
        self._spent: dict[str, float] = {}
        self._lock = threading.Lock()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._secret, _LABEL + body.encode(), hashlib.sha256).digest())

    def issue(self, bits: int) -> Challenge:
        """A fresh challenge of `bits` difficulty, valid for `ttl` seconds."""
        body = f"{int(self.clock()) + self.ttl}.{bits}.{_b64(secrets.token_bytes(16))}"
        return Challenge(f"{body}.{self._mac(body)}", bits, self.ttl)

    def check(self, token: str, nonce: str, min_bits: int) -> float:
        """Verify signature, expiry, difficulty (at least `min_bits`) and the work, without
        spending; return the expiry time. BadChallenge names what is wrong."""
        if not TOKEN_PATTERN.fullmatch(token):
            raise BadChallenge("challenge is malformed; ask for a new one")
        parts = token.split(".")
        body, mac = ".".join(parts[:3]), parts[3]
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            raise BadChallenge("challenge was not issued by this registry; ask for a new one")
        expires, bits = float(parts[0]), int(parts[1])
        if expires <= self.clock():
            raise BadChallenge("challenge has expired; ask for a new one")
        if bits < min_bits:
            raise BadChallenge("challenge is easier than this registry now asks; ask again")
        if self._is_spent(token):
            raise BadChallenge("challenge was already used; ask for a new one")
        if not is_solved(token, nonce, bits):
            raise BadChallenge(f"nonce does not solve the challenge ({bits} leading zero bits)")
        return expires

    def _is_spent(self, token: str) -> bool:
        with self._lock:
            return token in self._spent

    def spend(self, token: str, expires: float) -> None:
        """Mark a checked challenge used until it expires; BadChallenge if it already was, and
        Unavailable while the memory of spent ones is full of unexpired challenges."""
        now = self.clock()
        with self._lock:
            if token in self._spent:
                raise BadChallenge("challenge was already used; ask for a new one")
            if len(self._spent) >= self.max_spent:
                self._spent = {t: e for t, e in self._spent.items() if e > now}
                if len(self._spent) >= self.max_spent:
                    raise Unavailable("too many cases are being opened; try again in a minute")
            self._spent[token] = expires
