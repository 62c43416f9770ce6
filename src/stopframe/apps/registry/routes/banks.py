"""Bank routes: define banks, import and export partner files, withdraw entries as an operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from stopframe.apps.registry.auth import Caller, registry, require
from stopframe.apps.registry.guards import spooled_body
from stopframe.apps.registry.models import Bank
from stopframe.apps.registry.routes.cases import EntryId, entry_out
from stopframe.apps.registry.schemas import BankIn, BankOut, EntryOut, ImportOut
from stopframe.apps.registry.services import banks, entries, transfer
from stopframe.apps.registry.services.feed import active_count
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope, SuggestedAction
from stopframe.lists.formats import FORMATS

router = APIRouter(tags=["banks"])
BankName = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
# A partner format's name; the services refuse one that lists.formats does not have (422)
Format = Annotated[str, Query(max_length=64, description="One of: " + ", ".join(FORMATS))]
LEFT_OUT_HEADER = "X-Stopframe-Left-Out"
admin = require(Scope.ADMIN)
read = require(Scope.READ)


def bank_out(session: Session, bank: Bank) -> BankOut:
    """A bank's public definition with its active entry count."""
    return BankOut(
        name=bank.name,
        kinds=bank.kind_names,
        distance_threshold=bank.distance_threshold,
        verified=bank.verified,
        action=SuggestedAction(bank.action),
        entries_active=active_count(session, bank.id),
    )


@router.get("/banks", response_model=list[BankOut])
def list_banks(caller: Caller = Depends(read), reg: Registry = Depends(registry)) -> list[BankOut]:
    """Every bank with the defaults consumers apply."""
    with reg.db.read() as session:
        return [
            bank_out(session, b)
            for b in session.execute(select(Bank).order_by(Bank.name)).scalars()
        ]


@router.post("/banks", response_model=BankOut, status_code=201)
def create_bank(
    body: BankIn, caller: Caller = Depends(admin), reg: Registry = Depends(registry)
) -> BankOut:
    """Create a bank."""
    with reg.db.write() as session:
        bank = banks.create_bank(
            session,
            body.name,
            body.kinds,
            caller.actor,
            distance_threshold=body.distance_threshold,
            verified=body.verified,
            action=body.action,
        )
        return bank_out(session, bank)


@router.get("/banks/{bank}", response_model=BankOut)
def get_bank(
    bank: BankName, caller: Caller = Depends(read), reg: Registry = Depends(registry)
) -> BankOut:
    """One bank's definition."""
    with reg.db.read() as session:
        return bank_out(session, banks.get_bank(session, bank))


@router.post(
    "/banks/{bank}/import",
    response_model=ImportOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string"}}
                for t in ("text/csv", "text/plain", "application/json", "application/xml")
            },
        }
    },
)
async def import_entries(
    bank: BankName,
    request: Request,
    format: Format,
    caller: Caller = Depends(admin),
    reg: Registry = Depends(registry),
) -> ImportOut:
    """Import a partner list file into the bank: every entry or, on any bad record, none. The
    upload is spooled to a file as it arrives, so a slow or oversized one holds no memory."""
    with await spooled_body(request, reg.settings.data_dir) as body:

        def work() -> ImportOut:
            data = body.read()
            with reg.db.write() as session:
                result = transfer.import_file(
                    session,
                    banks.get_bank(session, bank),
                    format,
                    data,
                    reg.settings.max_import_entries,
                    caller.actor,
                )
            return ImportOut.model_validate(result, from_attributes=True)

        return await run_in_threadpool(work)


@router.get(
    "/banks/{bank}/export",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}, "application/xml": {}},
            "headers": {
                LEFT_OUT_HEADER: {
                    "description": "With partial=true: kind=count of the entries the "
                    "format could not carry, comma-separated",
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
def export_entries(
    bank: BankName,
    format: Format,
    partial: Annotated[
        bool,
        Query(
            description="Leave out (and report in the "
            f"{LEFT_OUT_HEADER} header) entries of kinds the "
            "format cannot carry, instead of refusing"
        ),
    ] = False,
    caller: Caller = Depends(read),
    reg: Registry = Depends(registry),
) -> Response:
    """The bank's active entries as a partner list file (unsigned; use /lists for signed lists).
    Entries of a kind the format cannot carry are refused (422) unless `partial` is set."""
    with reg.db.read() as session:
        exported, media_type = transfer.export_bank(
            session, banks.get_bank(session, bank), format, partial
        )
    headers = (
        {LEFT_OUT_HEADER: ",".join(f"{k}={n}" for k, n in exported.left_out.items())}
        if exported.left_out
        else None
    )
    return Response(exported.data, media_type=media_type, headers=headers)


@router.delete("/entries/{entry_id}", response_model=EntryOut)
def withdraw_entry(
    entry_id: EntryId, caller: Caller = Depends(admin), reg: Registry = Depends(registry)
) -> EntryOut:
    """Withdraw any entry (operator action, e.g. a wrong import)."""
    with reg.db.write() as session:
        return entry_out(entries.withdraw_entry(session, entry_id, caller.actor))
