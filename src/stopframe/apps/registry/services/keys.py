"""Consumer API keys: create (shown once), authenticate, revoke, rotate."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.lists.canonical import utcnow
from stopframe.apps.registry.credentials import hash_api_key, new_api_key
from stopframe.apps.registry.models import ApiKey
from stopframe.apps.registry.problems import Problem
from stopframe.apps.registry.schemas import ApiKeyCreated, ApiKeyOut, Scope


def describe(key: ApiKey) -> ApiKeyOut:
    """A key's public facts."""
    return ApiKeyOut(key_id=key.key_id, name=key.name,
                     scopes=[Scope(s) for s in key.scopes.split(",")],
                     created_at=key.created_at, revoked_at=key.revoked_at)


def create_key(session: Session, name: str, scopes: list[Scope], actor: str) -> ApiKeyCreated:
    """Create a key; the returned `key` is the only time it is visible."""
    key_id, secret = new_api_key()
    row = ApiKey(key_id=key_id, key_hash=hash_api_key(secret), name=name,
                 scopes=",".join(sorted({s.value for s in scopes})), created_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(session, actor, "key.create", f"key:{key_id}", scopes=row.scopes, name=name)
    return ApiKeyCreated(key=secret, **describe(row).model_dump())


def find_key(session: Session, secret: str) -> ApiKey | None:
    """The unrevoked key whose hash matches `secret`, else None."""
    row = session.execute(select(ApiKey).where(ApiKey.key_hash == hash_api_key(secret))).scalar_one_or_none()
    return row if row is not None and row.revoked_at is None else None


def get_key(session: Session, key_id: str) -> ApiKey:
    """The key with this public id, or 404."""
    row = session.execute(select(ApiKey).where(ApiKey.key_id == key_id)).scalar_one_or_none()
    if row is None:
        raise Problem(404, f"no API key {key_id!r}")
    return row


def revoke(session: Session, row: ApiKey, actor: str) -> None:
    """Revoke a key at once (idempotent)."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor, "key.revoke", f"key:{row.key_id}")


def rotate(session: Session, row: ApiKey, actor: str) -> ApiKeyCreated:
    """Replace a key with a new one of the same name and scopes; the old one stops working."""
    if row.revoked_at is not None:
        raise Problem(409, f"API key {row.key_id!r} is revoked; create a new one")
    revoke(session, row, actor)
    return create_key(session, row.name, [Scope(s) for s in row.scopes.split(",")], actor)
