"""Anonymous cases: create (number + PIN shown once), authenticate, submit, withdraw, summarise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.credentials import new_case_number, new_pin
from stopframe.apps.registry.models import Bank, Case, Entry, Report
from stopframe.apps.registry.pincache import PinCache
from stopframe.apps.registry.pinwork import PinWork
from stopframe.apps.registry.services.entries import CaseQuota, add_signals, withdraw
from stopframe.apps.registry.terms import ReportedAction
from stopframe.errors import NotFound, Unauthorized
from stopframe.lists.canonical import utcnow
from stopframe.signals import Signal

ACTED = (ReportedAction.BLOCK.value, ReportedAction.REVIEW.value)


@dataclass(frozen=True)
class NewCase:
    """A created case: its number and the PIN, which is shown only this once."""

    number: str
    pin: str


@dataclass(frozen=True)
class Submission:
    """Entry ids of a submission in input order, and how many were new or restored."""

    ids: list[int]
    added: int


@dataclass(frozen=True)
class CaseCounts:
    """What a case holder may see: counts only."""

    number: str
    entries_active: int
    entries_withdrawn: int
    matched: int
    acted_on: int


def actor_of(case: Case) -> str:
    """How the audit log names a case acting for itself."""
    return f"case:{case.id}"


@dataclass(frozen=True)
class IssuedPin:
    """A new PIN and its stored hash, made before any write transaction opens."""

    pin: str
    pin_hash: str


def issue_pin(pins: PinWork) -> IssuedPin:
    """A fresh PIN and its hash (scrypt, in the bounded PIN pool; never under the writer lock)."""
    pin = new_pin()
    return IssuedPin(pin, pins.hash(pin))


def create_case(session: Session, issued: IssuedPin, actor: str) -> NewCase:
    """Create a case; the PIN is returned here and never again."""
    case = Case(number=new_case_number(), pin_hash=issued.pin_hash, created_at=utcnow())
    session.add(case)
    session.flush()
    audit.record(session, actor, "case.create", f"case:{case.id}")
    return NewCase(case.number, issued.pin)


def find_case(session: Session, number: str) -> Case | None:
    """The case numbered `number`, or None."""
    return session.execute(select(Case).where(Case.number == number)).scalar_one_or_none()


def check_case_pin(
    case: Case | None, number: str, pin: str | None, pins: PinWork, cache: PinCache | None = None
) -> Case:
    """`case` when `pin` is right; one Unauthorized for unknown number and wrong PIN, at the same
    scrypt cost either way. Needs no database session (hold none while scrypt runs)."""
    pin = pin or ""
    if case is not None and cache is not None and cache.hit(number, pin):
        return case
    ok = pins.check(pin, case.pin_hash if case else None)
    if case is None or not ok:
        raise Unauthorized("case number or PIN is wrong", challenge="CasePIN")
    if cache is not None:
        cache.remember(number, pin)
    return case


def upgrade_pin_hash(session: Session, case: Case, new_hash: str) -> bool:
    """Store a hash of the case's PIN at the current cost (made before this write) in place of
    the one `case` was read with; False when the stored hash changed meanwhile."""
    result = session.execute(
        update(Case)
        .where(Case.id == case.id, Case.pin_hash == case.pin_hash)
        .values(pin_hash=new_hash)
    )
    changed = cast("CursorResult[Any]", result).rowcount
    if changed:
        audit.record(session, actor_of(case), "case.pin_rehash", f"case:{case.id}")
    return bool(changed)


def submit(
    session: Session,
    case: Case,
    bank: Bank,
    signals: Sequence[Signal],
    quota: CaseQuota | None = None,
) -> Submission:
    """Add the case's signals to `bank` (all or none, within the case's `quota`) and audit what
    was new."""
    ids, added = add_signals(session, bank, actor_of(case), case.id, signals, quota=quota)
    if added:
        audit.record(
            session,
            actor_of(case),
            "entry.add",
            f"case:{case.id}",
            bank=bank.name,
            entries=ids,
            added=added,
        )
    return Submission(ids, added)


def case_entry(session: Session, case: Case, entry_id: int) -> Entry:
    """An entry of this case, or NotFound (entries of other cases are invisible)."""
    entry = session.get(Entry, entry_id)
    if entry is None or entry.case_id != case.id:
        raise NotFound(f"case has no entry {entry_id}")
    return entry


def withdraw_entry(session: Session, case: Case, entry_id: int) -> Entry:
    """Withdraw one of the case's entries (idempotent), feeding and auditing the change."""
    entry = case_entry(session, case, entry_id)
    withdraw(session, entry, actor_of(case))
    return entry


def entries_of(session: Session, case: Case) -> list[Entry]:
    """The case's entries, withdrawn ones included, in id order."""
    return list(
        session.execute(select(Entry).where(Entry.case_id == case.id).order_by(Entry.id)).scalars()
    )


def summary(session: Session, case: Case) -> CaseCounts:
    """Counts only: entries, matches reported against them, and how many were acted on."""
    active = session.execute(
        select(func.count())
        .select_from(Entry)
        .where(Entry.case_id == case.id, Entry.withdrawn_at.is_(None))
    ).scalar_one()
    total = session.execute(
        select(func.count()).select_from(Entry).where(Entry.case_id == case.id)
    ).scalar_one()
    reports = (
        select(func.count())
        .select_from(Report)
        .join(Entry, Entry.id == Report.entry_id)
        .where(Entry.case_id == case.id)
    )
    matched = session.execute(reports).scalar_one()
    acted = session.execute(reports.where(Report.action.in_(ACTED))).scalar_one()
    return CaseCounts(case.number, active, total - active, matched, acted)
