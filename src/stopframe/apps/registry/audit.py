"""The append-only, hash-chained audit log: every state change writes one row in its transaction.

row_hash = sha256(canonical JSON of {at, actor, action, subject, details, prev_hash}); the first
row's prev_hash is 64 zeros. Editing, deleting or reordering any row breaks the chain after it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stopframe.apps.registry.models import AuditRecord
from stopframe.lists.canonical import canonical_json, iso, utcnow

GENESIS = "0" * 64


def row_hash(at: str, actor: str, action: str, subject: str, details: str, prev_hash: str) -> str:
    """The sha256 that chains one audit row to the previous one."""
    body = {
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": json.loads(details),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


def record(
    session: Session, actor: str, action: str, subject: str, /, **details: Any
) -> AuditRecord:
    """Append one audit row; call inside a write transaction (which holds the writer lock)."""
    last = session.execute(
        select(AuditRecord.row_hash).order_by(AuditRecord.id.desc()).limit(1)
    ).scalar_one_or_none()
    prev = last or GENESIS
    at = iso(utcnow())
    text = canonical_json(details).decode()
    row = AuditRecord(
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        details=text,
        prev_hash=prev,
        row_hash=row_hash(at, actor, action, subject, text, prev),
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class AuditResult:
    """Outcome of a chain check: rows checked and the first bad row (None when intact)."""

    rows: int
    first_bad_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when every row checked out."""
        return self.first_bad_id is None


def verify(session: Session, batch: int = 10_000) -> AuditResult:
    """Walk the whole log in id order and report the first row whose hash or link is wrong."""
    prev = GENESIS
    count = 0
    last_id = 0
    while True:
        rows = (
            session.execute(
                select(AuditRecord)
                .where(AuditRecord.id > last_id)
                .order_by(AuditRecord.id)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return AuditResult(count)
        for row in rows:
            if row.prev_hash != prev:
                return AuditResult(count, row.id, "prev_hash does not match the previous row")
            try:
                expected = row_hash(
                    row.at, row.actor, row.action, row.subject, row.details, row.prev_hash
                )
            except (ValueError, TypeError):
                return AuditResult(count, row.id, "details are not valid JSON")
            if expected != row.row_hash:
                return AuditResult(count, row.id, "row content does not match its hash")
            prev = row.row_hash
            count += 1
            last_id = row.id
