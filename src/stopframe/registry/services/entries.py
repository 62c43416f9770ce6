"""Adding and withdrawing entries: idempotent on duplicates, each change appended to the feed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from stopframe.registry.canonical import utcnow
from stopframe.registry.models import Bank, Entry
from stopframe.registry.problems import Problem
from stopframe.registry.services.feed import append_changes
from stopframe.signals.base import Signal

CHUNK = 5000


def digest(value: str) -> str:
    """sha256 of a canonical signal value: the uniqueness key (vPDQ values can be long)."""
    return hashlib.sha256(value.encode()).hexdigest()


def add_signals(session: Session, bank: Bank, owner: str, case_id: int | None,
                signals: Iterable[Signal]) -> tuple[list[int], int]:
    """Add signals to `bank` for `owner`; return (entry ids in input order, how many were new).

    A signal already present for the same owner is not duplicated; a withdrawn one is restored.
    """
    allowed = set(bank.kinds.split(","))
    wanted: dict[tuple[str, str], Signal] = {}
    for signal in signals:
        if signal.kind.value not in allowed:
            raise Problem(422, f"bank {bank.name!r} does not take {signal.kind.value} signals")
        wanted.setdefault((signal.kind.value, digest(signal.value)), signal)
    ids: dict[tuple[str, str], int] = {}
    restored: list[int] = []
    keys = list(wanted)
    for start in range(0, len(keys), CHUNK):
        digests = [d for _k, d in keys[start:start + CHUNK]]
        rows = session.execute(select(Entry.id, Entry.kind, Entry.digest, Entry.withdrawn_at).where(
            Entry.bank_id == bank.id, Entry.owner == owner, Entry.digest.in_(digests)))
        for eid, kind, dig, withdrawn in rows:
            if (kind, dig) in wanted:
                ids[(kind, dig)] = eid
                if withdrawn is not None:
                    restored.append(eid)
    if restored:
        session.execute(update(Entry).where(Entry.id.in_(restored)).values(withdrawn_at=None))
    now = utcnow()
    new_rows = [{"bank_id": bank.id, "case_id": case_id, "owner": owner, "kind": k, "value": s.value,
                 "digest": d, "quality": s.quality, "created_at": now}
                for (k, d), s in wanted.items() if (k, d) not in ids]
    new_ids: list[int] = []
    for start in range(0, len(new_rows), CHUNK):
        chunk = new_rows[start:start + CHUNK]
        result = session.execute(Entry.__table__.insert().returning(
            Entry.id, Entry.kind, Entry.digest, sort_by_parameter_order=True), chunk)
        for eid, kind, dig in result:
            ids[(kind, dig)] = eid
            new_ids.append(eid)
    append_changes(session, new_ids + restored, "add")
    return [ids[key] for key in wanted], len(new_ids) + len(restored)


def withdraw(session: Session, entry: Entry) -> bool:
    """Withdraw an entry; False if it already was (idempotent)."""
    if entry.withdrawn_at is not None:
        return False
    entry.withdrawn_at = utcnow()
    session.flush()
    append_changes(session, [entry.id], "withdraw")
    return True


def get_entry(session: Session, entry_id: int) -> Entry:
    """The entry with `entry_id`, or a 404 problem."""
    entry = session.get(Entry, entry_id)
    if entry is None:
        raise Problem(404, f"no entry {entry_id}")
    return entry
