"""Key statements: how a consumer pinned to an old list-signing key learns the current one.

Each usable key signs a rotation statement naming the key after it, and the current key signs a
retirement statement for every retired key; all carry the registry's stamp. Signed at the time
of asking, with the keys the folder holds then (a rotation needs no restart).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from stopframe.apps.registry.auth import Caller, registry, require
from stopframe.apps.registry.schemas import Envelope
from stopframe.apps.registry.services import feed
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope

router = APIRouter(tags=["lists"])
read = require(Scope.READ)


class KeyStatements(BaseModel):
    """Rotation statements (old key names the next) and retirement statements (current key
    names a retired one)."""

    rotations: list[Envelope]
    retirements: list[Envelope]


@router.get("/keys/rotations", response_model=KeyStatements)
def key_statements(
    caller: Caller = Depends(read), reg: Registry = Depends(registry)
) -> dict[str, Any]:
    """The signed chain from every list-signing key to the current one, and the retired keys."""
    with reg.db.read() as session:
        stamp = feed.stamp(session, reg.settings.list_max_age_s)
    return reg.keyring.statements(stamp)
