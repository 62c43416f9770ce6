"""The matcher's API keys: `match` keys call /v1/match/*, `admin` keys run the operator API.

A key is shown once (`sfm_<key id>_<secret>`); only its sha256 is stored, so the lookup is by
hash and leaks nothing through timing. Each process caches what a key may do for a short time,
so a match request does not read SQLite; a revocation takes effect everywhere within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import weakref
from dataclasses import dataclass

from stopframe.apps.matcher.state import MatcherState
from stopframe.errors import Forbidden, Unauthorized

MATCH = "match"
ADMIN = "admin"
SCOPES = frozenset({MATCH, ADMIN})
KEY_PREFIX = "sfm"
CACHE_SECONDS = 30.0
CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class KeyInfo:
    """Who a valid key belongs to and what it may do."""

    key_id: str
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class StoredKey:
    """A key as the operator lists it: never its secret, and revoked ones too."""

    key_id: str
    name: str
    scopes: frozenset[str]
    created_at: float
    revoked_at: float | None


_Cache = dict[str, tuple[KeyInfo, float]]
_caches: weakref.WeakKeyDictionary[MatcherState, _Cache] = weakref.WeakKeyDictionary()


def create_key(state: MatcherState, scopes: list[str], name: str) -> str:
    """Store a new key with these scopes and return it in full: it cannot be shown again."""
    unknown = sorted(set(scopes) - SCOPES)
    if unknown or not scopes:
        raise ValueError(
            f"scopes must be some of {', '.join(sorted(SCOPES))}; got {', '.join(unknown) or '-'}"
        )
    key_id = secrets.token_hex(6)
    token = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    with state.transaction() as db:
        db.execute(
            "INSERT INTO api_keys (key_id, name, key_hash, scopes, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key_id, name, _digest(token), " ".join(sorted(set(scopes))), time.time()),
        )
    return token


def authenticate(
    state: MatcherState,
    token: str,
    now: float | None = None,
    cache_s: float = CACHE_SECONDS,
) -> KeyInfo | None:
    """The live key `token` is, or None; answers from this process's cache for `cache_s`."""
    if not token.startswith(f"{KEY_PREFIX}_"):
        return None
    now = time.monotonic() if now is None else now
    digest = _digest(token)
    cache = _caches.setdefault(state, {})
    cached = cache.get(digest)
    if cached is not None and cached[1] > now:
        return cached[0]
    row = state.fetchone(
        "SELECT key_id, name, scopes FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
        (digest,),
    )
    if row is None:
        cache.pop(digest, None)
        return None
    info = KeyInfo(row[0], row[1], frozenset(row[2].split()))
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[digest] = (info, now + cache_s)
    return info


def authorize(
    state: MatcherState,
    token: str | None,
    scope: str,
    now: float | None = None,
    cache_s: float = CACHE_SECONDS,
) -> KeyInfo:
    """The key behind `token` if it holds `scope`; Unauthorized (401) when missing or wrong,
    Forbidden (403) when the key lacks the scope."""
    info = authenticate(state, token, now, cache_s) if token else None
    if info is None:
        raise Unauthorized("a valid matcher API key is needed")
    if scope not in info.scopes:
        raise Forbidden(f"this key lacks the {scope!r} scope")
    return info


def revoke(state: MatcherState, key_id: str) -> bool:
    """Revoke a key; True when a live key was revoked. Other processes stop accepting it when
    their cache entry expires; this one stops at once."""
    with state.transaction() as db:
        row = db.execute(
            "SELECT key_hash FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", (key_id,)
        ).fetchone()
        if row is not None:
            db.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", (time.time(), key_id))
    if row is None:
        return False
    _caches.get(state, {}).pop(row[0], None)
    return True


def list_keys(state: MatcherState) -> list[StoredKey]:
    """Every key ever created, oldest first, without secrets."""
    rows = state.fetchall(
        "SELECT key_id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at"
    )
    return [
        StoredKey(key_id, name, frozenset(scopes.split()), created_at, revoked_at)
        for key_id, name, scopes, created_at, revoked_at in rows
    ]


def _digest(token: str) -> str:
    """sha256 of a high-entropy key: enough, since a key cannot be guessed."""
    return hashlib.sha256(token.encode()).hexdigest()
