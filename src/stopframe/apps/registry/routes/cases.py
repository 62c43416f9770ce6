"""Case routes: create a case, add and withdraw its hashes, see its counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlalchemy import select

from stopframe.apps.registry import audit
from stopframe.apps.registry.auth import Caller, case_pin, limit_case, registry, require
from stopframe.apps.registry.models import Entry
from stopframe.apps.registry.schemas import CaseCreated, CaseSummary, EntryOut, Scope, SubmitIn, SubmitOut
from stopframe.apps.registry.services import banks, cases, entries
from stopframe.apps.registry.state import Registry
from stopframe.signals.base import Signal

router = APIRouter(prefix="/cases", tags=["cases"])
CaseNumber = Annotated[str, Path(pattern=r"^SF-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")]
EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # SQL INTEGER ids
submit = require(Scope.SUBMIT)


def entry_out(entry: Entry) -> EntryOut:
    """An entry as the case holder sees it."""
    return EntryOut(id=entry.id, bank=entry.bank.name, kind=entry.kind, value=entry.value,
                    quality=entry.quality, created_at=entry.created_at,
                    withdrawn_at=entry.withdrawn_at)


@router.post("", response_model=CaseCreated, status_code=201)
def create_case(caller: Caller = Depends(submit), reg: Registry = Depends(registry)) -> CaseCreated:
    """Open an anonymous case. Keep the number and PIN: they are shown only this once."""
    with reg.db.write() as session:
        return cases.create_case(session, reg.settings.pin_scrypt_n, caller.actor)


@router.get("/{case_number}", response_model=CaseSummary)
def case_summary(case_number: CaseNumber, pin: str | None = Depends(case_pin),
                 caller: Caller = Depends(submit), reg: Registry = Depends(registry)) -> CaseSummary:
    """How many of the case's hashes are listed, and how often they were matched and acted on."""
    limit_case(reg, case_number)
    with reg.db.read() as session:
        case = cases.authenticate(session, case_number, pin, reg.settings.pin_scrypt_n, reg.pin_cache)
        return cases.summary(session, case)


@router.get("/{case_number}/entries", response_model=list[EntryOut])
def case_entries(case_number: CaseNumber, pin: str | None = Depends(case_pin),
                 caller: Caller = Depends(submit), reg: Registry = Depends(registry)) -> list[EntryOut]:
    """The case's entries, withdrawn ones included."""
    limit_case(reg, case_number)
    with reg.db.read() as session:
        case = cases.authenticate(session, case_number, pin, reg.settings.pin_scrypt_n, reg.pin_cache)
        rows = session.execute(select(Entry).where(Entry.case_id == case.id).order_by(Entry.id))
        return [entry_out(e) for e in rows.scalars()]


@router.post("/{case_number}/entries", response_model=SubmitOut)
def add_entries(case_number: CaseNumber, body: SubmitIn, response: Response,
                pin: str | None = Depends(case_pin), caller: Caller = Depends(submit),
                reg: Registry = Depends(registry)) -> SubmitOut:
    """Add hashes (never media) to the case: all or none; duplicates are returned, not repeated."""
    limit_case(reg, case_number)
    with reg.db.read() as session:
        case = cases.authenticate(session, case_number, pin, reg.settings.pin_scrypt_n, reg.pin_cache)
    signals = [Signal(s.kind, s.value, s.quality) for s in body.signals]
    with reg.db.write() as session:
        bank = banks.case_bank(session, reg.settings.case_bank, caller.actor)
        ids, added = entries.add_signals(session, bank, f"case:{case.id}", case.id, signals)
        if added:
            audit.record(session, f"case:{case.id}", "entry.add", f"case:{case.id}",
                         bank=bank.name, entries=ids, added=added)
        rows = {e.id: e for e in session.execute(select(Entry).where(Entry.id.in_(ids))).scalars()}
        response.status_code = 201 if added else 200
        return SubmitOut(added=added, entries=[entry_out(rows[i]) for i in ids])


@router.delete("/{case_number}/entries/{entry_id}", response_model=EntryOut)
def withdraw_entry(case_number: CaseNumber, entry_id: EntryId, pin: str | None = Depends(case_pin),
                   caller: Caller = Depends(submit), reg: Registry = Depends(registry)) -> EntryOut:
    """Withdraw one of the case's hashes; consumers drop it on their next sync."""
    limit_case(reg, case_number)
    with reg.db.read() as session:
        case = cases.authenticate(session, case_number, pin, reg.settings.pin_scrypt_n, reg.pin_cache)
    with reg.db.write() as session:
        entry = cases.case_entry(session, case, entry_id)
        if entries.withdraw(session, entry):
            audit.record(session, f"case:{case.id}", "entry.withdraw", f"entry:{entry.id}")
        return entry_out(entry)
