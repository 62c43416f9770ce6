"""Bank routes: define banks, import and export partner files, withdraw entries as an operator."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from stopframe.apps.registry import audit
from stopframe.apps.registry.auth import Caller, registry, require
from stopframe.apps.registry.models import Bank
from stopframe.apps.registry.routes.cases import EntryId, entry_out
from stopframe.apps.registry.schemas import BankIn, BankOut, EntryOut, ImportOut, Scope
from stopframe.apps.registry.services import banks, entries, transfer
from stopframe.apps.registry.state import Registry

router = APIRouter(tags=["banks"])
BankName = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Format = Literal["threatexchange-csv", "threatexchange-text", "stopncii-json", "ncmec-xml",
                 "projectvic-json"]
admin = require(Scope.ADMIN)
read = require(Scope.READ)


@router.get("/banks", response_model=list[BankOut])
def list_banks(caller: Caller = Depends(read), reg: Registry = Depends(registry)) -> list[BankOut]:
    """Every bank with the defaults consumers apply."""
    with reg.db.read() as session:
        return [banks.describe(session, b) for b in session.execute(select(Bank).order_by(Bank.name)).scalars()]


@router.post("/banks", response_model=BankOut, status_code=201)
def create_bank(body: BankIn, caller: Caller = Depends(admin),
                reg: Registry = Depends(registry)) -> BankOut:
    """Create a bank."""
    with reg.db.write() as session:
        return banks.describe(session, banks.create_bank(session, body, caller.actor))


@router.get("/banks/{bank}", response_model=BankOut)
def get_bank(bank: BankName, caller: Caller = Depends(read), reg: Registry = Depends(registry)) -> BankOut:
    """One bank's definition."""
    with reg.db.read() as session:
        return banks.describe(session, banks.get_bank(session, bank))


@router.post("/banks/{bank}/import", response_model=ImportOut,
             openapi_extra={"requestBody": {"required": True, "content": {
                 t: {"schema": {"type": "string"}} for t in
                 ("text/csv", "text/plain", "application/json", "application/xml")}}})
async def import_entries(bank: BankName, request: Request, format: Annotated[Format, Query()],
                         caller: Caller = Depends(admin),
                         reg: Registry = Depends(registry)) -> ImportOut:
    """Import a partner list file into the bank: every entry or, on any bad record, none."""
    data = await request.body()
    def work() -> ImportOut:
        with reg.db.write() as session:
            return transfer.import_file(session, banks.get_bank(session, bank), format, data,
                                        reg.settings.max_import_entries, caller.actor)

    return await run_in_threadpool(work)


@router.get("/banks/{bank}/export", response_class=Response,
            responses={200: {"content": {"text/csv": {}, "application/json": {}, "application/xml": {}}}})
def export_entries(bank: BankName, format: Annotated[Format, Query()],
                   caller: Caller = Depends(read), reg: Registry = Depends(registry)) -> Response:
    """The bank's active entries as a partner list file (unsigned; use /lists for signed lists)."""
    with reg.db.read() as session:
        data, media_type = transfer.export_bank(session, banks.get_bank(session, bank), format)
    return Response(data, media_type=media_type)


@router.delete("/entries/{entry_id}", response_model=EntryOut)
def withdraw_entry(entry_id: EntryId, caller: Caller = Depends(admin),
                   reg: Registry = Depends(registry)) -> EntryOut:
    """Withdraw any entry (operator action, e.g. a wrong import)."""
    with reg.db.write() as session:
        entry = entries.get_entry(session, entry_id)
        if entries.withdraw(session, entry):
            audit.record(session, caller.actor, "entry.withdraw", f"entry:{entry.id}")
        return entry_out(entry)
