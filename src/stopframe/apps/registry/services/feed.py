"""Feed sequence numbers and the list payloads: snapshot and change pages.

Sequences come from the `feed` counter row, which the write transaction already holds locked,
so they are gap-free and in commit order. The document shape is `stopframe.lists.documents`'.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from stopframe.apps.registry.db import FEED_COUNTER
from stopframe.apps.registry.models import Bank, Change, Counter, Entry
from stopframe.errors import Conflict
from stopframe.lists.canonical import utcnow
from stopframe.lists.documents import (
    bank_document,
    change_document,
    changes_document,
    entry_document,
    snapshot_document,
)


def append_changes(session: Session, entry_ids: list[int], op: str) -> None:
    """Give each entry id the next sequence number with `op` (add | withdraw)."""
    if not entry_ids:
        return
    last = session.execute(select(Counter.value).where(Counter.name == FEED_COUNTER)).scalar_one()
    now = utcnow()
    # A declarative model's __table__ is its Table (the stubs say FromClause); Core executemany.
    session.execute(
        cast(Table, Change.__table__).insert(),
        [
            {"sequence": last + i, "entry_id": eid, "op": op, "created_at": now}
            for i, eid in enumerate(entry_ids, start=1)
        ],
    )
    session.execute(
        update(Counter).where(Counter.name == FEED_COUNTER).values(value=last + len(entry_ids))
    )


def current_sequence(session: Session) -> int:
    """The last sequence number committed."""
    return session.execute(select(Counter.value).where(Counter.name == FEED_COUNTER)).scalar_one()


def _banks(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(Bank).order_by(Bank.name)).scalars().all()
    return [
        bank_document(b.name, b.kind_names, b.distance_threshold, b.verified, b.action)
        for b in rows
    ]


def snapshot_payload(session: Session) -> dict[str, Any]:
    """Every active entry, with the sequence it is current to (one consistent read snapshot)."""
    sequence = current_sequence(session)
    rows = session.execute(
        select(Entry.id, Bank.name, Entry.kind, Entry.value, Entry.quality)
        .join(Bank, Bank.id == Entry.bank_id)
        .where(Entry.withdrawn_at.is_(None))
        .order_by(Entry.id)
    )
    return snapshot_document(sequence, _banks(session), (entry_document(*row) for row in rows))


def changes_payload(session: Session, after: int, limit: int) -> dict[str, Any]:
    """Changes with sequence > `after`, in order, at most `limit`; `more` says whether to page on.
    Conflict when `after` is beyond the latest sequence (the consumer must start again)."""
    last = current_sequence(session)
    if after > last:
        raise Conflict(
            f"after={after} is beyond the latest sequence {last}; start again from a snapshot"
        )
    rows = session.execute(
        select(
            Change.sequence, Change.op, Entry.id, Bank.name, Entry.kind, Entry.value, Entry.quality
        )
        .join(Entry, Entry.id == Change.entry_id)
        .join(Bank, Bank.id == Entry.bank_id)
        .where(Change.sequence > after, Change.sequence <= last)
        .order_by(Change.sequence)
        .limit(limit)
    ).all()
    changes = [
        change_document(seq, op, entry_document(eid, bank, kind, value, quality))
        for seq, op, eid, bank, kind, value, quality in rows
    ]
    return changes_document(after, last, _banks(session), changes)


def active_count(session: Session, bank_id: int) -> int:
    """Active entries in a bank."""
    return session.execute(
        select(func.count())
        .select_from(Entry)
        .where(Entry.bank_id == bank_id, Entry.withdrawn_at.is_(None))
    ).scalar_one()
