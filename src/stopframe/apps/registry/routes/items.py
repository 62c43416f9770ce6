"""Item routes: a case holder adds files' hashes as items, follows their counts and withdraws
them, with the case number and PIN alone (an Authorization header may come along; it is neither
needed nor looked at)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from stopframe.apps.registry.auth import case_for_pin, case_pin, client_address
from stopframe.apps.registry.auth import registry as current_registry
from stopframe.apps.registry.routes.cases import CaseNumber
from stopframe.apps.registry.schemas import CaseItemsOut, ItemOut, ItemsAdded, ItemsIn
from stopframe.apps.registry.services import banks, cases, items
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import ItemMedia
from stopframe.signals import Signal

router = APIRouter(prefix="/cases", tags=["items"])
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # SQL INTEGER ids


def item_out(view: items.ItemView) -> ItemOut:
    """An item's view as the API writes it."""
    return ItemOut(
        id=view.id,
        media=ItemMedia(view.media),
        kinds=view.kinds,
        created_at=view.created_at,
        withdrawn_at=view.withdrawn_at,
        matched=view.matched,
        acted_on=view.acted_on,
    )


@router.post(
    "/{case_number}/items",
    response_model=ItemsAdded,
    status_code=201,
    responses={
        200: {"model": ItemsAdded, "description": "Nothing new: every item was in the case"}
    },
)
def add_items(
    case_number: CaseNumber,
    body: ItemsIn,
    request: Request,
    response: Response,
    pin: str | None = Depends(case_pin),
    reg: Registry = Depends(current_registry),
) -> ItemsAdded:
    """Add files' hashes (never media) to the case, one item per file: all or none. The same
    hashes again give back the same item (200, nothing added)."""
    case = case_for_pin(reg, case_number, pin, client_address(request))
    new = [
        items.NewItem(item.media.value, [Signal(s.kind, s.value, s.quality) for s in item.signals])
        for item in body.items
    ]
    with reg.db.write() as session:
        bank = banks.case_bank(session, reg.settings.case_bank, cases.actor_of(case))
        result = items.add_items(
            session,
            case,
            bank,
            new,
            reg.settings.max_items_per_request,
            reg.case_quota,
        )
        shown = items.views(session, items.items_by_id(session, result.ids))
    response.status_code = 201 if result.added else 200
    return ItemsAdded(added=result.added, items=[item_out(v) for v in shown])


@router.get("/{case_number}/items", response_model=CaseItemsOut)
def list_items(
    case_number: CaseNumber,
    request: Request,
    pin: str | None = Depends(case_pin),
    reg: Registry = Depends(current_registry),
) -> CaseItemsOut:
    """The case's items, withdrawn ones included, each with how often it was matched and acted
    on, and the case's totals."""
    case = case_for_pin(reg, case_number, pin, client_address(request))
    with reg.db.read() as session:
        found = items.case_items(session, case)
    return CaseItemsOut(
        case_number=found.number,
        items_active=found.items_active,
        items_withdrawn=found.items_withdrawn,
        matched=found.matched,
        acted_on=found.acted_on,
        items=[item_out(v) for v in found.items],
    )


@router.delete("/{case_number}/items/{item_id}", response_model=ItemOut)
def withdraw_item(
    case_number: CaseNumber,
    item_id: ItemId,
    request: Request,
    pin: str | None = Depends(case_pin),
    reg: Registry = Depends(current_registry),
) -> ItemOut:
    """Withdraw one item (idempotent); consumers drop its hashes on their next sync, except
    those another of the case's active items still holds."""
    case = case_for_pin(reg, case_number, pin, client_address(request))
    with reg.db.write() as session:
        item = items.withdraw_item(session, case, item_id)
        return item_out(items.views(session, [item])[0])
