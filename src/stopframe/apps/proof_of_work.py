"""The intake proof of work, shared by the registry (which checks it) and the victim-side client
(which solves it): find a nonce such that SHA-256 of `challenge + ":" + nonce` (UTF-8) starts
with at least `bits` zero bits. The browser's solver follows the same rule."""

from __future__ import annotations

import hashlib
import re

NONCE_PATTERN = re.compile(r"[0-9a-z]{1,32}")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def leading_zero_bits(digest: bytes) -> int:
    """How many zero bits `digest` starts with (read big-endian, most significant bit first)."""
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def work_digest(challenge: str, nonce: str) -> bytes:
    """SHA-256 of the UTF-8 bytes of `challenge:nonce`."""
    return hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()


def is_solved(challenge: str, nonce: str, bits: int) -> bool:
    """True when `nonce` is well formed (1-32 of [0-9a-z]) and meets `bits` for `challenge`."""
    if not NONCE_PATTERN.fullmatch(nonce):
        return False
    return leading_zero_bits(work_digest(challenge, nonce)) >= bits


def _base36(number: int) -> str:
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if number == 0:
            return text


def solve(challenge: str, bits: int) -> str:
    """The first nonce (counting up in base 36) that meets `bits`; about 2**bits hashes."""
    if not 0 <= bits <= 64:
        raise ValueError(f"difficulty must be 0 to 64 bits, got {bits}")
    prefix = f"{challenge}:".encode()
    target = 256 - bits
    counter = 0
    while True:
        nonce = _base36(counter)
        digest = hashlib.sha256(prefix + nonce.encode()).digest()
        if int.from_bytes(digest, "big").bit_length() <= target:
            return nonce
        counter += 1
