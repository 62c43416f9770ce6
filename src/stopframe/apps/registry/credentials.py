"""Credentials: API keys (random, stored as sha256) and case PINs (stored as salted scrypt).

PIN hash format: `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` with r=8, p=1, 16-byte salt and a
32-byte output; N defaults to 2**15 (about 32 MiB and ~0.1 s per check) and is kept with the hash
so it can be raised later without breaking existing cases. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _random  # stdlib

KEY_PREFIX = "sfk"
SCRYPT_R = 8
SCRYPT_P = 1


def new_api_key() -> tuple[str, str]:
    """Return (key_id, full key). The key is shown once; only its sha256 is stored."""
    key_id = _random.token_hex(6)
    return key_id, f"{KEY_PREFIX}_{key_id}_{_random.token_urlsafe(32)}"


def hash_api_key(key: str) -> str:
    """sha256 of a high-entropy API key: enough, since a key cannot be guessed."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_case_number() -> str:
    """A case number people can read out: SF- and 12 characters from an unambiguous alphabet."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    body = "".join(_random.choice(alphabet) for _ in range(12))
    return f"SF-{body[:4]}-{body[4:8]}-{body[8:]}"


def new_pin() -> str:
    """A 10-digit PIN, shown once to the case holder."""
    return "".join(_random.choice("0123456789") for _ in range(10))


def _scrypt(pin: str, salt: bytes, n: int) -> bytes:
    return hashlib.scrypt(
        pin.encode(),
        salt=salt,
        n=n,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=32,
        maxmem=256 * SCRYPT_R * n + (1 << 20),
    )


def hash_pin(pin: str, n: int) -> str:
    """Slow, salted hash of a PIN for storage."""
    salt = _random.token_bytes(16)
    digest = _scrypt(pin, salt, n)
    b64 = base64.b64encode
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def scrypt_n_of(stored: str) -> int | None:
    """The scrypt cost N a stored PIN hash was made with, or None when it is not one of ours."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not parts[1].isdigit():
        return None
    return int(parts[1])


def dummy_pin_hash(n: int) -> str:
    """A stored-hash stand-in that no PIN matches, costing scrypt at `n` to check (unknown cases
    take as long as known ones)."""
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}$AAAAAAAAAAAAAAAAAAAAAA==$"


def check_pin(pin: str, stored: str, cost_n: int | None = None) -> bool:
    """True when `pin` matches the stored hash (constant-time comparison). With `cost_n`, a hash
    made at a smaller N is padded with extra runs so the check costs as much as one at `cost_n`,
    whatever the answer."""
    try:
        scheme, n, _r, _p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(pin, base64.b64decode(salt), int(n))
        for _ in range(1, (cost_n or 0) // int(n)):
            _scrypt(pin, b"pad", int(n))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))
