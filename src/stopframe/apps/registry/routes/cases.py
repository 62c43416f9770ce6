"""Case routes: create a case, add and withdraw its hashes, see its counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from stopframe.apps.registry.auth import (
    Caller,
    case_for_pin,
    case_pin,
    client_address,
    registry,
    require,
)
from stopframe.apps.registry.models import Case, Entry
from stopframe.apps.registry.nostore import NO_STORE
from stopframe.apps.registry.schemas import CaseCreated, CaseSummary, EntryOut, SubmitIn, SubmitOut
from stopframe.apps.registry.services import banks, cases, entries
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope
from stopframe.signals import Signal

router = APIRouter(prefix="/cases", tags=["cases"])
CaseNumber = Annotated[str, Path(pattern=r"^SF-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")]
EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # SQL INTEGER ids
submit = require(Scope.SUBMIT)


def entry_out(entry: Entry) -> EntryOut:
    """An entry as the case holder sees it."""
    return EntryOut(
        id=entry.id,
        bank=entry.bank.name,
        kind=entry.kind,
        value=entry.value,
        quality=entry.quality,
        created_at=entry.created_at,
        withdrawn_at=entry.withdrawn_at,
    )


def _case(reg: Registry, number: str, pin: str | None, request: Request, caller: Caller) -> Case:
    """The case acting, after its PIN check (wrong PINs limited per address and per key)."""
    return case_for_pin(reg, number, pin, client_address(request), caller.key_id)


@router.post("", response_model=CaseCreated, status_code=201, dependencies=NO_STORE)
def create_case(caller: Caller = Depends(submit), reg: Registry = Depends(registry)) -> CaseCreated:
    """Open an anonymous case. Keep the number and PIN: they are shown only this once."""
    issued = cases.issue_pin(reg.pins)  # scrypt first: never under the writer lock
    with reg.db.write() as session:
        new = cases.create_case(session, issued, caller.actor)
    return CaseCreated(case_number=new.number, pin=new.pin)


@router.get("/{case_number}", response_model=CaseSummary)
def case_summary(
    case_number: CaseNumber,
    request: Request,
    pin: str | None = Depends(case_pin),
    caller: Caller = Depends(submit),
    reg: Registry = Depends(registry),
) -> CaseSummary:
    """How many of the case's hashes are listed, and how often they were matched and acted on."""
    case = _case(reg, case_number, pin, request, caller)
    with reg.db.read() as session:
        counts = cases.summary(session, case)
    return CaseSummary(
        case_number=counts.number,
        entries_active=counts.entries_active,
        entries_withdrawn=counts.entries_withdrawn,
        matched=counts.matched,
        acted_on=counts.acted_on,
    )


@router.get("/{case_number}/entries", response_model=list[EntryOut])
def case_entries(
    case_number: CaseNumber,
    request: Request,
    pin: str | None = Depends(case_pin),
    caller: Caller = Depends(submit),
    reg: Registry = Depends(registry),
) -> list[EntryOut]:
    """The case's entries, withdrawn ones included."""
    case = _case(reg, case_number, pin, request, caller)
    with reg.db.read() as session:
        return [entry_out(e) for e in cases.entries_of(session, case)]


@router.post(
    "/{case_number}/entries",
    response_model=SubmitOut,
    status_code=201,
    responses={200: {"model": SubmitOut, "description": "Nothing new: every hash was in the case"}},
)
def add_entries(
    case_number: CaseNumber,
    body: SubmitIn,
    response: Response,
    request: Request,
    pin: str | None = Depends(case_pin),
    caller: Caller = Depends(submit),
    reg: Registry = Depends(registry),
) -> SubmitOut:
    """Add hashes (never media) to the case: all or none; duplicates are returned, not repeated."""
    case = _case(reg, case_number, pin, request, caller)
    signals = [Signal(s.kind, s.value, s.quality) for s in body.signals]
    with reg.db.write() as session:
        bank = banks.case_bank(session, reg.settings.case_bank, caller.actor)
        result = cases.submit(session, case, bank, signals, reg.case_quota)
        rows = entries.entries_by_id(session, result.ids)
        response.status_code = 201 if result.added else 200
        return SubmitOut(added=result.added, entries=[entry_out(e) for e in rows])


@router.delete("/{case_number}/entries/{entry_id}", response_model=EntryOut)
def withdraw_entry(
    case_number: CaseNumber,
    entry_id: EntryId,
    request: Request,
    pin: str | None = Depends(case_pin),
    caller: Caller = Depends(submit),
    reg: Registry = Depends(registry),
) -> EntryOut:
    """Withdraw one of the case's hashes; consumers drop it on their next sync."""
    case = _case(reg, case_number, pin, request, caller)
    with reg.db.write() as session:
        return entry_out(cases.withdraw_entry(session, case, entry_id))
