"""API key routes (admin): create, list, revoke, rotate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy import select

from stopframe.apps.registry.auth import Caller, registry, require
from stopframe.apps.registry.models import ApiKey
from stopframe.apps.registry.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut, Scope
from stopframe.apps.registry.services import keys
from stopframe.apps.registry.state import Registry

router = APIRouter(prefix="/api-keys", tags=["api keys"])
admin = require(Scope.ADMIN)
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")]


@router.post("", response_model=ApiKeyCreated, status_code=201)
def create_key(body: ApiKeyIn, caller: Caller = Depends(admin),
               reg: Registry = Depends(registry)) -> ApiKeyCreated:
    """Create a key for a consumer; the key is in this response only."""
    with reg.db.write() as session:
        return keys.create_key(session, body.name, body.scopes, caller.actor)


@router.get("", response_model=list[ApiKeyOut])
def list_keys(caller: Caller = Depends(admin), reg: Registry = Depends(registry)) -> list[ApiKeyOut]:
    """Every key's public facts."""
    with reg.db.read() as session:
        return [keys.describe(k) for k in session.execute(select(ApiKey).order_by(ApiKey.id)).scalars()]


@router.delete("/{key_id}", response_model=ApiKeyOut)
def revoke_key(key_id: KeyId, caller: Caller = Depends(admin),
               reg: Registry = Depends(registry)) -> ApiKeyOut:
    """Revoke a key at once."""
    with reg.db.write() as session:
        row = keys.get_key(session, key_id)
        keys.revoke(session, row, caller.actor)
        return keys.describe(row)


@router.post("/{key_id}/rotate", response_model=ApiKeyCreated, status_code=201)
def rotate_key(key_id: KeyId, caller: Caller = Depends(admin),
               reg: Registry = Depends(registry)) -> ApiKeyCreated:
    """Replace a key with a new one (same name and scopes); the old one stops working."""
    with reg.db.write() as session:
        return keys.rotate(session, keys.get_key(session, key_id), caller.actor)
