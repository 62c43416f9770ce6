"""Signed lists out: snapshot pages, the change feed (long-poll capable) and the public keys
that verify them. Every page carries the registry's stamp (id, epoch, issued and expiry)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from stopframe.apps.registry.auth import Caller, registry, require
from stopframe.apps.registry.schemas import Envelope, PublicKey
from stopframe.apps.registry.services import feed
from stopframe.apps.registry.snapshot_cache import (
    SnapshotCache,
    signed_page,
    snapshot_cache,
    streamed,
)
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope
from stopframe.lists.canonical import canonical_json

router = APIRouter(tags=["lists"])
read = require(Scope.READ)
MAX_WAIT_SECONDS = 30


def _signed(reg: Registry, payload: dict[str, Any]) -> Response:
    return Response(canonical_json(reg.keyring.sign(payload)), media_type="application/json")


@router.get("/lists/snapshot", response_model=Envelope)
def snapshot(
    after_id: Annotated[
        int,
        Query(
            ge=0,
            le=2**62,
            description="Entries with a larger id than this: 0 for the first page, then the "
            "last id of the page before.",
        ),
    ] = 0,
    limit: Annotated[int | None, Query(ge=1, le=feed.SNAPSHOT_PAGE_MAX)] = None,
    caller: Caller = Depends(read),
    reg: Registry = Depends(registry),
    cache: SnapshotCache = Depends(snapshot_cache),
) -> Response:
    """One signed page of every bank's active entries, in id order after `after_id`, with the
    feed sequence it was read at; page on while `more`, then replay the changes from the first
    page's sequence. Pulls of one page at one sequence share one build (briefly cached)."""
    return streamed(signed_page(reg, cache, after_id, limit or reg.snapshot_page_size))


def _changes_page(reg: Registry, after: int, limit: int) -> dict[str, Any]:
    with reg.db.read() as session:
        payload = feed.changes_payload(session, after, limit)
        return payload | feed.stamp(session, reg.settings.list_max_age_s)


def _latest(reg: Registry) -> int:
    with reg.db.read() as session:
        return feed.current_sequence(session)


@router.get("/lists/changes", response_model=Envelope)
async def changes(
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="When nothing follows `after` yet, hold the request up to this many "
            "seconds and answer as soon as a change is committed.",
        ),
    ] = 0,
    caller: Caller = Depends(read),
    reg: Registry = Depends(registry),
) -> Response:
    """Additions and withdrawals after sequence `after`, in order, signed; page on while `more`.
    With `wait`, an empty answer is held (without a thread) until a change or the time is up."""
    size = limit or reg.settings.feed_page_size
    payload = await run_in_threadpool(_changes_page, reg, after, size)
    if wait > 0 and not payload["changes"]:

        async def latest() -> int:
            return await run_in_threadpool(_latest, reg)

        if await reg.db.feed_watch.wait_beyond(after, wait, latest):
            payload = await run_in_threadpool(_changes_page, reg, after, size)
    return await run_in_threadpool(_signed, reg, payload)


@router.get("/keys", response_model=list[PublicKey])
def public_keys(
    caller: Caller = Depends(read), reg: Registry = Depends(registry)
) -> list[PublicKey]:
    """Every list-signing public key, old ones included, so past lists still verify."""
    return [PublicKey(**k) for k in reg.keyring.published()]
