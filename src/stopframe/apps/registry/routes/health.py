"""GET /v1/health: liveness, the only route that needs no key."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import text

from stopframe.apps.registry.auth import registry
from stopframe.apps.registry.schemas import Health
from stopframe.apps.registry.state import Registry

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(reg: Registry = Depends(registry)) -> Health:
    """The service is up and its database answers."""
    with reg.db.read() as session:
        session.execute(text("SELECT 1"))
    return Health(status="ok")
