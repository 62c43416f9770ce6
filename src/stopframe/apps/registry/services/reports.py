"""Match reports from consumers: entry, action, time. Never media.

Reports come one at a time, or in batches whose items carry a key the consumer chose: a key the
same API key already sent is a duplicate and stores nothing, so a batch whose answer was lost can
be sent again without counting any match twice. An API key reports an entry once: a repeat is
acknowledged, not counted again. Only active entries take reports, and an unknown entry and a
withdrawn one get the same answer, so a report key learns nothing about which ids exist; a
report dated in the future (beyond a small clock skew) is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import ApiKey, Entry, Report
from stopframe.apps.registry.terms import ReportedAction
from stopframe.errors import Invalid, NotFound
from stopframe.lists.canonical import iso, utcnow

CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of ours a consumer's clock may run


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
    """Store and audit a report against an active entry; the key's earlier report of the same
    entry if there is one (counted once). NotFound for an unknown or withdrawn entry alike."""
    _check_time(matched_at, utcnow())
    if not _active(session, {entry_id}):
        raise NotFound(f"no active entry {entry_id}")
    earlier = session.execute(
        select(Report).where(Report.api_key_id == key.id, Report.entry_id == entry_id).limit(1)
    ).scalar_one_or_none()
    if earlier is not None:
        return earlier
    report = Report(
        entry_id=entry_id,
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
        f"entry:{entry_id}",
        action=report.action,
        matched_at=iso(matched_at),
    )
    return report


def _check_time(matched_at: datetime, now: datetime) -> None:
    """Refuse a match time later than now plus the allowed clock skew (Invalid); a time without
    a zone is read as UTC."""
    if matched_at.tzinfo is None:
        matched_at = matched_at.replace(tzinfo=UTC)
    if matched_at > now + CLOCK_SKEW:
        raise Invalid(f"matched_at {iso(matched_at)} is in the future (now {iso(now)})")


def _active(session: Session, ids: set[int]) -> set[int]:
    """Which of `ids` are entries that are not withdrawn."""
    return set(
        session.execute(
            select(Entry.id).where(Entry.id.in_(ids), Entry.withdrawn_at.is_(None))
        ).scalars()
    )


def add_reports(session: Session, key: ApiKey, reports: Sequence[KeyedReport]) -> BatchResult:
    """Store a batch of reports and audit it in one row naming each stored report's entry.
    A key already stored for this API key (or seen earlier in the batch), or an entry this API
    key already reported, is a duplicate; an entry id that does not exist or is withdrawn is
    listed in `unknown` and skipped, not a failure. A future match time refuses the batch."""
    now = utcnow()
    for report in reports:
        _check_time(report.matched_at, now)
    keys = {r.key for r in reports}
    seen = set(
        session.execute(
            select(Report.report_key).where(
                Report.api_key_id == key.id, Report.report_key.in_(keys)
            )
        ).scalars()
    )
    wanted = {r.entry_id for r in reports}
    known = _active(session, wanted)
    reported = set(
        session.execute(
            select(Report.entry_id).where(Report.api_key_id == key.id, Report.entry_id.in_(known))
        ).scalars()
    )
    rows: list[dict[str, object]] = []
    unknown: dict[int, None] = {}  # insertion-ordered set
    duplicates = 0
    for report in reports:
        if report.key in seen:
            duplicates += 1
        elif report.entry_id not in known:
            unknown[report.entry_id] = None
        elif report.entry_id in reported:
            seen.add(report.key)
            duplicates += 1
        else:
            seen.add(report.key)
            reported.add(report.entry_id)
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
