"""Match reports from consumers: entry, action, time. Never media.

Reports come one at a time, or in batches whose items carry a key the consumer chose: a key the
same API key already sent is a duplicate and stores nothing, so a batch whose answer was lost can
be sent again without counting any match twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import ApiKey, Entry, Report
from stopframe.apps.registry.services.entries import get_entry
from stopframe.apps.registry.terms import ReportedAction
from stopframe.lists.canonical import iso, utcnow


@dataclass(frozen=True)
class KeyedReport:
    """One report of a batch: the consumer's idempotency key, entry, action and time."""

    key: str
    entry_id: int
    action: ReportedAction
    matched_at: datetime


@dataclass(frozen=True)
class BatchResult:
    """What a batch did: reports stored, reports already stored, entry ids not found."""

    accepted: int
    duplicates: int
    unknown: list[int]


def add_report(
    session: Session, key: ApiKey, entry_id: int, action: ReportedAction, matched_at: datetime
) -> Report:
    """Store and audit a report against an existing entry (NotFound otherwise)."""
    entry = get_entry(session, entry_id)
    report = Report(
        entry_id=entry.id,
        api_key_id=key.id,
        action=action.value,
        matched_at=matched_at,
        created_at=utcnow(),
    )
    session.add(report)
    session.flush()
    audit.record(
        session,
        f"key:{key.key_id}",
        "report.add",
        f"entry:{entry.id}",
        action=report.action,
        matched_at=iso(matched_at),
    )
    return report


def add_reports(session: Session, key: ApiKey, reports: Sequence[KeyedReport]) -> BatchResult:
    """Store a batch of reports and audit it in one row naming each stored report's entry.
    A key already stored for this API key (or seen earlier in the batch) is a duplicate; an
    entry id that does not exist is listed in `unknown` and skipped, not a failure."""
    keys = {r.key for r in reports}
    seen = set(
        session.execute(
            select(Report.report_key).where(
                Report.api_key_id == key.id, Report.report_key.in_(keys)
            )
        ).scalars()
    )
    wanted = {r.entry_id for r in reports}
    known = set(session.execute(select(Entry.id).where(Entry.id.in_(wanted))).scalars())
    now = utcnow()
    rows: list[dict[str, object]] = []
    unknown: dict[int, None] = {}  # insertion-ordered set
    duplicates = 0
    for report in reports:
        if report.key in seen:
            duplicates += 1
        elif report.entry_id not in known:
            unknown[report.entry_id] = None
        else:
            seen.add(report.key)
            rows.append(
                {
                    "entry_id": report.entry_id,
                    "api_key_id": key.id,
                    "action": report.action.value,
                    "matched_at": report.matched_at,
                    "created_at": now,
                    "report_key": report.key,
                }
            )
    if rows:
        # A declarative model's __table__ is its Table (the stubs say FromClause); Core executemany.
        session.execute(cast(Table, Report.__table__).insert(), rows)
        audit.record(
            session,
            f"key:{key.key_id}",
            "report.add_batch",
            f"key:{key.key_id}",
            reports=[[row["entry_id"], row["action"]] for row in rows],
        )
    return BatchResult(len(rows), duplicates, list(unknown))
