"""Feed sequence numbers and the list payloads: snapshot and change pages.

Sequences come from the `feed` counter row, which the write transaction already holds locked,
so they are gap-free and in commit order. The document shape is `stopframe.lists.documents`'.
Every signed document also carries the registry's stamp (`stamp`): its id and epoch, kept as
counters rows beside the feed's, when the document was issued and expires, and the audit log's
head at that moment.
Snapshot pages are keyset pages by entry id (no OFFSET), so page 1,000 costs what page 1 does
and the registry holds one page in memory, not the list.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import BigInteger, String, Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.db import FEED_ADVANCED, FEED_COUNTER
from stopframe.apps.registry.models import Bank, Change, Counter, Entry, Timestamp
from stopframe.apps.registry.services.bulk import on_postgres
from stopframe.errors import Conflict
from stopframe.lists.canonical import utcnow
from stopframe.lists.documents import (
    bank_document,
    change_document,
    changes_document,
    entry_document,
    snapshot_document,
    stamp_document,
)

SNAPSHOT_PAGE_SIZE = 50_000  # entries in a snapshot page unless the consumer asks for fewer
SNAPSHOT_PAGE_MAX = 200_000  # the most a consumer may ask for
SNAPSHOT_PAGE_CHARS = 64 << 20  # about how much value text one page holds at most
FETCH = 5_000
REGISTRY_ID_COUNTER = "registry_id"  # 63 random bits, made once by migration 0005
EPOCH_COUNTER = "epoch"  # 1, raised by every restore from backup


def append_changes(session: Session, entry_ids: list[int], op: str) -> None:
    """Give each entry id the next sequence number with `op` (add | withdraw).

    PostgreSQL: one INSERT ... SELECT FROM unnest(two arrays), as an executemany runs there once
    per row. SQLite: a Core executemany (one prepared statement, stepped per row in-process)."""
    if not entry_ids:
        return
    last = session.execute(select(Counter.value).where(Counter.name == FEED_COUNTER)).scalar_one()
    now = utcnow()
    # A declarative model's __table__ is its Table (the stubs say FromClause).
    changes = cast(Table, Change.__table__)
    sequences = range(last + 1, last + 1 + len(entry_ids))
    if on_postgres(session):
        arrays = func.unnest(
            bindparam("sequences", list(sequences), type_=ARRAY(BigInteger)),
            bindparam("entry_ids", entry_ids, type_=ARRAY(BigInteger)),
        )
        new = arrays.table_valued("sequence", "entry_id").render_derived("new")
        source = select(
            new.c.sequence,
            new.c.entry_id,
            bindparam("op", op, type_=String),
            bindparam("created_at", now, type_=Timestamp),
        )
        columns = ["sequence", "entry_id", "op", "created_at"]
        session.execute(changes.insert().from_select(columns, source))
    else:
        session.execute(
            changes.insert(),
            [
                {"sequence": seq, "entry_id": eid, "op": op, "created_at": now}
                for seq, eid in zip(sequences, entry_ids, strict=True)
            ],
        )
    session.execute(
        update(Counter).where(Counter.name == FEED_COUNTER).values(value=last + len(entry_ids))
    )
    session.info[FEED_ADVANCED] = True  # the write path wakes long-polling readers on commit


def current_sequence(session: Session) -> int:
    """The last sequence number committed."""
    return session.execute(select(Counter.value).where(Counter.name == FEED_COUNTER)).scalar_one()


def registry_id_text(value: int) -> str:
    """The registry id as documents carry it: 16 hex digits."""
    return f"{value:016x}"


def identity(session: Session) -> tuple[str, int]:
    """The registry's id (as documents carry it) and its current epoch."""
    found = session.execute(
        select(Counter.name, Counter.value).where(
            Counter.name.in_([REGISTRY_ID_COUNTER, EPOCH_COUNTER])
        )
    )
    rows = {name: value for name, value in found}
    return registry_id_text(rows[REGISTRY_ID_COUNTER]), rows[EPOCH_COUNTER]


def stamp(session: Session, max_age_s: int) -> dict[str, Any]:
    """The stamp fields of a document issued now, valid for `max_age_s` seconds."""
    registry_id, epoch = identity(session)
    return stamp_document(registry_id, epoch, max_age_s, audit.chain_head(session))


def _banks(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(Bank).order_by(Bank.name)).scalars().all()
    return [
        bank_document(b.name, b.kind_names, b.distance_threshold, b.verified, b.action)
        for b in rows
    ]


def snapshot_payload(
    session: Session,
    after_id: int = 0,
    limit: int = SNAPSHOT_PAGE_SIZE,
    max_value_chars: int = SNAPSHOT_PAGE_CHARS,
) -> dict[str, Any]:
    """A snapshot page: the active entries with id > `after_id` in id order, at most `limit`
    and about `max_value_chars` of values (long vPDQs fill a page sooner; a page holds at least
    one entry), with the sequence read in the same transaction and whether more follow."""
    sequence = current_sequence(session)
    rows = session.execute(
        select(Entry.id, Bank.name, Entry.kind, Entry.value, Entry.quality)
        .join(Bank, Bank.id == Entry.bank_id)
        .where(Entry.id > after_id, Entry.withdrawn_at.is_(None))
        .order_by(Entry.id)
        .limit(limit + 1)
        .execution_options(yield_per=FETCH)
    )
    entries: list[dict[str, Any]] = []
    chars = 0
    more = False
    for row in rows:
        if len(entries) == limit or (entries and chars + len(row.value) > max_value_chars):
            more = True
            break
        entries.append(entry_document(*row))
        chars += len(row.value)
    rows.close()
    return snapshot_document(sequence, _banks(session), entries, after_id, more)


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
