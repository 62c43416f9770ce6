"""Operator routes (scope `admin`): quarantined entries and their release, the decision log,
webhook deliveries that gave up."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from stopframe.apps.matcher import webhooks
from stopframe.apps.matcher.deps import SCOPE_ADMIN, require, service
from stopframe.apps.matcher.keys import KeyInfo
from stopframe.apps.matcher.routes import CountedRoute
from stopframe.apps.matcher.service import MatchService
from stopframe.errors import NotFound

router = APIRouter(prefix="/admin", tags=["admin"], route_class=CountedRoute)
admin_key = require(SCOPE_ADMIN)


@router.get("/quarantine")
def quarantined(
    key: KeyInfo = Depends(admin_key), svc: MatchService = Depends(service)
) -> list[dict[str, Any]]:
    """Entries flood quarantine set aside (their blocks are demoted to review)."""
    return [asdict(q) for q in svc.flood.quarantined()]


@router.post("/quarantine/{entry}/release")
def release(
    entry: str, key: KeyInfo = Depends(admin_key), svc: MatchService = Depends(service)
) -> dict[str, str]:
    """Lift an entry's quarantine after review."""
    if not svc.flood.release(entry, by=key.key_id):
        raise NotFound(f"entry {entry} is not quarantined")
    return {"released": entry}


@router.get("/decisions")
def decisions(
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    key: KeyInfo = Depends(admin_key),
    svc: MatchService = Depends(service),
) -> list[dict[str, Any]]:
    """The decision log (requests that matched something), oldest first, paged by id."""
    return [asdict(d) for d in svc.state.decisions(limit, after)]


@router.get("/webhooks/dead")
def dead_letters(
    key: KeyInfo = Depends(admin_key), svc: MatchService = Depends(service)
) -> list[dict[str, Any]]:
    """Webhook deliveries that failed every attempt."""
    return [asdict(d) for d in webhooks.dead_letters(svc.state)]


@router.post("/webhooks/dead/{delivery_id}/retry")
def retry_dead(
    delivery_id: str, key: KeyInfo = Depends(admin_key), svc: MatchService = Depends(service)
) -> dict[str, str]:
    """Put a dead delivery back in the outbox."""
    if not webhooks.retry_dead(svc.state, delivery_id):
        raise NotFound(f"no dead delivery {delivery_id}")
    return {"retrying": delivery_id}
