"""Adding and withdrawing entries: idempotent on duplicates, each change appended to the feed.

`add_signals` is the shared step of `cases.submit` and `transfer.import_signals`, which write
the audit row that goes with it; `withdraw` writes its own. Degenerate values (constant hashes,
digests of the empty file, values under their kind's quality floor) are refused, a case holds at
most a set number of active entries, and an entry someone else withdrew (an operator) is not
restored by its case re-submitting it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import Bank, Entry
from stopframe.apps.registry.services import bulk
from stopframe.apps.registry.services.feed import append_changes
from stopframe.errors import Conflict, Invalid, NotFound, TooLarge
from stopframe.lists.canonical import utcnow
from stopframe.lists.documents import ADD, WITHDRAW
from stopframe.signals import SIGNAL_TYPES, Signal

CHUNK = 5000
# Digests of the empty file: every empty upload has them, so they identify nothing.
EMPTY_FILE = {
    ("md5", hashlib.md5(b"").hexdigest()),
    ("sha256", hashlib.sha256(b"").hexdigest()),
}


def digest(value: str) -> str:
    """sha256 of a canonical signal value: the uniqueness key (vPDQ values can be long)."""
    return hashlib.sha256(value.encode()).hexdigest()


def degenerate(signal: Signal) -> str | None:
    """Why a signal identifies nothing (a constant hash, the empty file's digest, a quality
    under its kind's floor), or None if it is fit to register."""
    if set(signal.value) in ({"0"}, {"f"}):
        return f"an all-zero or all-one {signal.kind} value matches no real recording"
    if (signal.kind, signal.value) in EMPTY_FILE:
        return f"this {signal.kind} is the digest of an empty file"
    signal_type = SIGNAL_TYPES[signal.kind]
    if not signal_type.usable(signal):
        return (
            f"{signal.kind} quality {signal.quality} is under {signal_type.quality_floor}, "
            "the least that is ever matched"
        )
    return None


def add_signals(
    session: Session,
    bank: Bank,
    owner: str,
    case_id: int | None,
    signals: Iterable[Signal],
    *,
    quota: CaseQuota | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[int], int]:
    """Add signals to `bank` for `owner`; return (entry ids in input order, how many were new).

    A signal already present for the same owner is not duplicated; one the owner withdrew is
    restored, one someone else withdrew is refused (Conflict). Invalid for a degenerate value;
    TooLarge if the case would go over its `quota`. `progress`,
    when given, is called with (distinct signals done, distinct signals in all) as chunks land.
    """
    allowed = set(bank.kind_names)
    wanted: dict[tuple[str, str], Signal] = {}
    for n, signal in enumerate(signals):
        if signal.kind not in allowed:
            raise Invalid(f"bank {bank.name!r} does not take {signal.kind} signals")
        reason = degenerate(signal)
        if reason:
            raise Invalid(f"signal {n} is refused: {reason}")
        wanted.setdefault((signal.kind, digest(signal.value)), signal)
    ids: dict[tuple[str, str], int] = {}
    withdrawn: dict[int, str | None] = {}
    _lookup(session, bank.id, owner, wanted, ids, withdrawn)
    kept = sorted(
        e for e, by in withdrawn.items() if case_id is not None and by not in (None, owner)
    )
    if kept:
        raise Conflict(
            f"entries {kept} were withdrawn by the registry's operator; submitting them again "
            "does not restore them (ask the operator)"
        )
    restored = sorted(withdrawn)
    new = {key: s for key, s in wanted.items() if key not in ids}
    if case_id is not None and quota is not None:
        adding = [s.value for s in new.values()] + [
            wanted[key].value for key, eid in ids.items() if eid in withdrawn
        ]
        _check_quota(session, case_id, adding, quota)
    if restored:
        session.execute(
            update(Entry).where(Entry.id.in_(restored)).values(withdrawn_at=None, withdrawn_by=None)
        )
    now = utcnow()
    rows = [(k, d, s) for (k, d), s in new.items()]
    done = len(wanted) - len(new)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        inserted = bulk.insert(session, bank.id, case_id, owner, now, chunk)
        ids.update({(k, d): eid for eid, k, d in inserted})
        done += len(chunk)
        if progress is not None:
            progress(done, len(wanted))
    bulk.refresh_statistics(session, len(rows))
    new_ids = sorted(ids[key] for key in new)
    append_changes(session, new_ids + restored, ADD)
    return [ids[key] for key in wanted], len(new_ids) + len(restored)


@dataclass(frozen=True)
class CaseQuota:
    """What one case may hold active: entries, and characters of their values (a few long
    recordings' vPDQ, variants or TMK weigh more than thousands of pictures)."""

    entries: int
    value_chars: int


def _check_quota(session: Session, case_id: int, adding: list[str], quota: CaseQuota) -> None:
    """Refuse (TooLarge) adding these values as active entries of a case that would then hold
    more than its quota allows."""
    active, chars = session.execute(
        select(func.count(), func.coalesce(func.sum(func.length(Entry.value)), 0))
        .select_from(Entry)
        .where(Entry.case_id == case_id, Entry.withdrawn_at.is_(None))
    ).one()
    if active + len(adding) > quota.entries:
        raise TooLarge(
            f"a case holds at most {quota.entries} active entries; it has {active} and this "
            f"adds {len(adding)}"
        )
    more = sum(len(value) for value in adding)
    if chars + more > quota.value_chars:
        raise TooLarge(
            f"a case holds at most {quota.value_chars:,} characters of hash values; it has "
            f"{chars:,} and this adds {more:,}"
        )


def _lookup(
    session: Session,
    bank_id: int,
    owner: str,
    keys: Iterable[tuple[str, str]],
    ids: dict[tuple[str, str], int],
    withdrawn: dict[int, str | None],
) -> None:
    """Fill `ids` with the entries of `owner` in the bank matching `keys`; note withdrawn ones
    with who withdrew them.

    Queried per kind so the lookup uses the whole (bank, owner, kind, digest) unique index.
    """
    by_kind: dict[str, list[str]] = {}
    for kind, dig in keys:
        by_kind.setdefault(kind, []).append(dig)
    for kind, digests in by_kind.items():
        for start in range(0, len(digests), CHUNK):
            chunk = digests[start : start + CHUNK]
            rows = session.execute(bulk.lookup(session, bank_id, owner, kind, chunk))
            for eid, dig, withdrawn_at, withdrawn_by in rows:
                ids[(kind, dig)] = eid
                if withdrawn_at is not None:
                    withdrawn[eid] = withdrawn_by


def withdraw(session: Session, entry: Entry, actor: str) -> bool:
    """Withdraw an entry, feed and audit it; False if it already was (idempotent, no new rows)."""
    if entry.withdrawn_at is not None:
        return False
    entry.withdrawn_at = utcnow()
    entry.withdrawn_by = actor
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
