"""Signed lists out: snapshot, change feed and the public keys that verify them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from stopframe.apps.registry.auth import Caller, registry, require
from stopframe.apps.registry.schemas import Envelope, PublicKey
from stopframe.apps.registry.services import feed
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope
from stopframe.lists.canonical import canonical_json

router = APIRouter(tags=["lists"])
read = require(Scope.READ)


def _signed(reg: Registry, payload: dict[str, Any]) -> Response:
    return Response(canonical_json(reg.keyring.sign(payload)), media_type="application/json")


@router.get("/lists/snapshot", response_model=Envelope)
def snapshot(caller: Caller = Depends(read), reg: Registry = Depends(registry)) -> Response:
    """Every active entry of every bank, signed, with the feed sequence it is current to."""
    with reg.db.read() as session:
        payload = feed.snapshot_payload(session)
    return _signed(reg, payload)


@router.get("/lists/changes", response_model=Envelope)
def changes(
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    caller: Caller = Depends(read),
    reg: Registry = Depends(registry),
) -> Response:
    """Additions and withdrawals after sequence `after`, in order, signed; page on while `more`."""
    with reg.db.read() as session:
        payload = feed.changes_payload(session, after, limit or reg.settings.feed_page_size)
    return _signed(reg, payload)


@router.get("/keys", response_model=list[PublicKey])
def public_keys(
    caller: Caller = Depends(read), reg: Registry = Depends(registry)
) -> list[PublicKey]:
    """Every list-signing public key, old ones included, so past lists still verify."""
    return [PublicKey(**k) for k in reg.keyring.published()]
