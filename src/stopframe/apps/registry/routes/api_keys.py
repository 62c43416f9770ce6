"""API key routes (admin): create, list, revoke, rotate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from stopframe.apps.registry.auth import Caller, registry, require
from stopframe.apps.registry.models import ApiKey
from stopframe.apps.registry.nostore import NO_STORE
from stopframe.apps.registry.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut
from stopframe.apps.registry.services import keys
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope

router = APIRouter(prefix="/api-keys", tags=["api keys"])
admin = require(Scope.ADMIN)
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]


def key_out(row: ApiKey) -> ApiKeyOut:
    """A key's public facts."""
    return ApiKeyOut(
        key_id=row.key_id,
        name=row.name,
        scopes=keys.scopes_of(row),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def key_created(new: keys.NewKey) -> ApiKeyCreated:
    """A new key's public facts and the key itself."""
    return ApiKeyCreated(key=new.key, **key_out(new.row).model_dump())


@router.post("", response_model=ApiKeyCreated, status_code=201, dependencies=NO_STORE)
def create_key(
    body: ApiKeyIn, caller: Caller = Depends(admin), reg: Registry = Depends(registry)
) -> ApiKeyCreated:
    """Create a key for a consumer; the key is in this response only."""
    with reg.db.write() as session:
        return key_created(keys.create_key(session, body.name, body.scopes, caller.actor))


@router.get("", response_model=list[ApiKeyOut])
def list_keys(
    caller: Caller = Depends(admin), reg: Registry = Depends(registry)
) -> list[ApiKeyOut]:
    """Every key's public facts."""
    with reg.db.read() as session:
        return [key_out(k) for k in keys.list_keys(session)]


@router.delete("/{key_id}", response_model=ApiKeyOut)
def revoke_key(
    key_id: KeyId, caller: Caller = Depends(admin), reg: Registry = Depends(registry)
) -> ApiKeyOut:
    """Revoke a key at once."""
    with reg.db.write() as session:
        return key_out(keys.revoke(session, key_id, caller.actor))


@router.post(
    "/{key_id}/rotate", response_model=ApiKeyCreated, status_code=201, dependencies=NO_STORE
)
def rotate_key(
    key_id: KeyId, caller: Caller = Depends(admin), reg: Registry = Depends(registry)
) -> ApiKeyCreated:
    """Replace a key with a new one (same name and scopes); the old one stops working."""
    with reg.db.write() as session:
        return key_created(keys.rotate(session, key_id, caller.actor))
