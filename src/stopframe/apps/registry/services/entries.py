"""Adding and withdrawing entries: idempotent on duplicates, each change appended to the feed.

`add_signals` is the shared step of `cases.submit` and `transfer.import_signals`, which write
the audit row that goes with it; `withdraw` writes its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import Bank, Entry
from stopframe.apps.registry.services.feed import append_changes
from stopframe.errors import Invalid, NotFound
from stopframe.lists.canonical import utcnow
from stopframe.lists.documents import ADD, WITHDRAW
from stopframe.signals import Signal

CHUNK = 5000


def digest(value: str) -> str:
    """sha256 of a canonical signal value: the uniqueness key (vPDQ values can be long)."""
    return hashlib.sha256(value.encode()).hexdigest()


def add_signals(
    session: Session, bank: Bank, owner: str, case_id: int | None, signals: Iterable[Signal]
) -> tuple[list[int], int]:
    """Add signals to `bank` for `owner`; return (entry ids in input order, how many were new).

    A signal already present for the same owner is not duplicated; a withdrawn one is restored.
    """
    allowed = set(bank.kind_names)
    wanted: dict[tuple[str, str], Signal] = {}
    for signal in signals:
        if signal.kind not in allowed:
            raise Invalid(f"bank {bank.name!r} does not take {signal.kind} signals")
        wanted.setdefault((signal.kind, digest(signal.value)), signal)
    ids: dict[tuple[str, str], int] = {}
    withdrawn: set[int] = set()
    _lookup(session, bank.id, owner, wanted, ids, withdrawn)
    restored = sorted(withdrawn)
    if restored:
        session.execute(update(Entry).where(Entry.id.in_(restored)).values(withdrawn_at=None))
    now = utcnow()
    new = {key: s for key, s in wanted.items() if key not in ids}
    new_rows = [
        {
            "bank_id": bank.id,
            "case_id": case_id,
            "owner": owner,
            "kind": k,
            "value": s.value,
            "digest": d,
            "quality": s.quality,
            "created_at": now,
        }
        for (k, d), s in new.items()
    ]
    # A declarative model's __table__ is its Table (the stubs say FromClause). Core insert on
    # purpose: a plain executemany (RETURNING goes row by row), no ORM bulk-insert handling.
    entries = cast(Table, Entry.__table__)
    for start in range(0, len(new_rows), CHUNK):
        session.execute(entries.insert(), new_rows[start : start + CHUNK])
    if new:
        _lookup(session, bank.id, owner, new, ids, set())
    new_ids = sorted(ids[key] for key in new)
    append_changes(session, new_ids + restored, ADD)
    return [ids[key] for key in wanted], len(new_ids) + len(restored)


def _lookup(
    session: Session,
    bank_id: int,
    owner: str,
    keys: Iterable[tuple[str, str]],
    ids: dict[tuple[str, str], int],
    withdrawn: set[int],
) -> None:
    """Fill `ids` with the entries of `owner` in the bank matching `keys`; note withdrawn ones.

    Queried per kind so the lookup uses the whole (bank, owner, kind, digest) unique index.
    """
    by_kind: dict[str, list[str]] = {}
    for kind, dig in keys:
        by_kind.setdefault(kind, []).append(dig)
    for kind, digests in by_kind.items():
        for start in range(0, len(digests), CHUNK):
            rows = session.execute(
                select(Entry.id, Entry.digest, Entry.withdrawn_at).where(
                    Entry.bank_id == bank_id,
                    Entry.owner == owner,
                    Entry.kind == kind,
                    Entry.digest.in_(digests[start : start + CHUNK]),
                )
            )
            for eid, dig, withdrawn_at in rows:
                ids[(kind, dig)] = eid
                if withdrawn_at is not None:
                    withdrawn.add(eid)


def withdraw(session: Session, entry: Entry, actor: str) -> bool:
    """Withdraw an entry, feed and audit it; False if it already was (idempotent, no new rows)."""
    if entry.withdrawn_at is not None:
        return False
    entry.withdrawn_at = utcnow()
    session.flush()
    append_changes(session, [entry.id], WITHDRAW)
    audit.record(session, actor, "entry.withdraw", f"entry:{entry.id}")
    return True


def get_entry(session: Session, entry_id: int) -> Entry:
    """The entry with `entry_id`, or NotFound."""
    entry = session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(f"no entry {entry_id}")
    return entry


def withdraw_entry(session: Session, entry_id: int, actor: str) -> Entry:
    """Withdraw any entry as an operator (e.g. a wrong import); NotFound if there is none."""
    entry = get_entry(session, entry_id)
    withdraw(session, entry, actor)
    return entry


def entries_by_id(session: Session, ids: list[int]) -> list[Entry]:
    """The entries with `ids`, in that order."""
    rows = {e.id: e for e in session.execute(select(Entry).where(Entry.id.in_(ids))).scalars()}
    return [rows[i] for i in ids]
