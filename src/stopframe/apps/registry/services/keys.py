"""Consumer API keys: create (shown once), authenticate, revoke, rotate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.credentials import hash_api_key, new_api_key
from stopframe.apps.registry.models import ApiKey
from stopframe.apps.registry.terms import Scope
from stopframe.errors import Conflict, NotFound
from stopframe.lists.canonical import utcnow


@dataclass(frozen=True)
class NewKey:
    """A created key: its stored row and the key itself, which is visible only this once."""

    row: ApiKey
    key: str


def scopes_of(row: ApiKey) -> list[Scope]:
    """A key's scopes."""
    return [Scope(s) for s in row.scopes.split(",")]


def create_key(session: Session, name: str, scopes: Sequence[Scope], actor: str) -> NewKey:
    """Create a key and audit it; the returned `key` is the only time it is visible."""
    key_id, secret = new_api_key()
    row = ApiKey(
        key_id=key_id,
        key_hash=hash_api_key(secret),
        name=name,
        scopes=",".join(sorted({s.value for s in scopes})),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "key.create", f"key:{key_id}", scopes=row.scopes, name=name)
    return NewKey(row, secret)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first."""
    return list(session.execute(select(ApiKey).order_by(ApiKey.id)).scalars())


def find_key(session: Session, secret: str) -> ApiKey | None:
    """The unrevoked key whose hash matches `secret`, else None."""
    row = session.execute(
        select(ApiKey).where(ApiKey.key_hash == hash_api_key(secret))
    ).scalar_one_or_none()
    return row if row is not None and row.revoked_at is None else None


def get_key(session: Session, key_id: str) -> ApiKey:
    """The key with this public id, or NotFound."""
    row = session.execute(select(ApiKey).where(ApiKey.key_id == key_id)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no API key {key_id!r}")
    return row


def revoke(session: Session, key_id: str, actor: str) -> ApiKey:
    """Revoke a key at once and audit it (idempotent)."""
    row = get_key(session, key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "key.revoke", f"key:{row.key_id}")
    return row


def rotate(session: Session, key_id: str, actor: str) -> NewKey:
    """Replace a key with a new one of the same name and scopes; the old one stops working."""
    row = get_key(session, key_id)
    if row.revoked_at is not None:
        raise Conflict(f"API key {row.key_id!r} is revoked; create a new one")
    revoke(session, key_id, actor)
    return create_key(session, row.name, scopes_of(row), actor)
