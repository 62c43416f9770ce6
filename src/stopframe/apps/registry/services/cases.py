"""Anonymous cases: create (number + PIN shown once), authenticate, submit, withdraw, summarise."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.lists.canonical import utcnow
from stopframe.apps.registry.credentials import check_pin, hash_pin, new_case_number, new_pin
from stopframe.apps.registry.models import Case, Entry, Report
from stopframe.apps.registry.pincache import PinCache
from stopframe.apps.registry.problems import Problem
from stopframe.apps.registry.schemas import CaseCreated, CaseSummary, ReportedAction

ACTED = (ReportedAction.BLOCK.value, ReportedAction.REVIEW.value)


def create_case(session: Session, scrypt_n: int, actor: str) -> CaseCreated:
    """Create a case; the PIN is returned here and never again."""
    pin = new_pin()
    case = Case(number=new_case_number(), pin_hash=hash_pin(pin, scrypt_n), created_at=utcnow())
    session.add(case)
    session.flush()
    audit.record(session, actor, "case.create", f"case:{case.id}")
    return CaseCreated(case_number=case.number, pin=pin)


def authenticate(session: Session, number: str, pin: str | None, scrypt_n: int,
                 cache: PinCache | None = None) -> Case:
    """The case for `number` if `pin` is right; one 401 for unknown number and wrong PIN alike."""
    case = session.execute(select(Case).where(Case.number == number)).scalar_one_or_none()
    pin = pin or ""
    if case is not None and cache is not None and cache.hit(number, pin):
        return case
    stored = case.pin_hash if case else f"scrypt${scrypt_n}$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
    ok = check_pin(pin, stored)  # hash even for unknown cases: same timing either way
    if case is None or not ok:
        raise Problem(401, "case number or PIN is wrong", {"WWW-Authenticate": "CasePIN"})
    if cache is not None:
        cache.remember(number, pin)
    return case


def case_entry(session: Session, case: Case, entry_id: int) -> Entry:
    """An entry of this case, or 404 (entries of other cases are invisible)."""
    entry = session.get(Entry, entry_id)
    if entry is None or entry.case_id != case.id:
        raise Problem(404, f"case has no entry {entry_id}")
    return entry


def summary(session: Session, case: Case) -> CaseSummary:
    """Counts only: entries, matches reported against them, and how many were acted on."""
    active = session.execute(select(func.count()).select_from(Entry).where(
        Entry.case_id == case.id, Entry.withdrawn_at.is_(None))).scalar_one()
    total = session.execute(select(func.count()).select_from(Entry).where(
        Entry.case_id == case.id)).scalar_one()
    reports = select(func.count()).select_from(Report).join(Entry, Entry.id == Report.entry_id).where(
        Entry.case_id == case.id)
    matched = session.execute(reports).scalar_one()
    acted = session.execute(reports.where(Report.action.in_(ACTED))).scalar_one()
    return CaseSummary(case_number=case.number, entries_active=active,
                       entries_withdrawn=total - active, matched=matched, acted_on=acted)
