"""Match reports from consumers: entry, action, time. Never media."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import ApiKey, Report
from stopframe.apps.registry.services.entries import get_entry
from stopframe.apps.registry.terms import ReportedAction
from stopframe.lists.canonical import iso, utcnow


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
