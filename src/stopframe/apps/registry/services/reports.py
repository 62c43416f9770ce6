"""Match reports from consumers: entry, action, time. Never media."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.lists.canonical import iso, utcnow
from stopframe.apps.registry.models import ApiKey, Report
from stopframe.apps.registry.schemas import ReportIn
from stopframe.apps.registry.services.entries import get_entry


def add_report(session: Session, key: ApiKey, body: ReportIn) -> Report:
    """Store a report against an existing entry (404 otherwise)."""
    entry = get_entry(session, body.entry_id)
    report = Report(entry_id=entry.id, api_key_id=key.id, action=body.action.value,
                    matched_at=body.matched_at, created_at=utcnow())
    session.add(report)
    session.flush()
    audit.record(session, f"key:{key.key_id}", "report.add", f"entry:{entry.id}",
                 action=report.action, matched_at=iso(body.matched_at))
    return report
