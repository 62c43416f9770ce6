"""Items: the signals of one file within a case, added all or none, followed by counts, withdrawn.

Entries stay one per (bank, case, kind, value) as `entries.add_signals` keeps them; an item links
to its entries through `item_entries`, so two files sharing a hash share the entry. The same set
of signals added again to a case is the same item. Withdrawing an item withdraws only the entries
no other active item still holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case as when
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import Bank, Case, Entry, Item, ItemEntry, Report
from stopframe.apps.registry.services.cases import ACTED, actor_of
from stopframe.apps.registry.services.entries import CaseQuota, add_signals, digest, withdraw
from stopframe.apps.registry.terms import ItemMedia
from stopframe.errors import Invalid, NotFound, TooLarge
from stopframe.lists.canonical import utcnow
from stopframe.signals import Signal

MEDIA = tuple(m.value for m in ItemMedia)


@dataclass(frozen=True)
class NewItem:
    """One file's signals as submitted: what it is and its hashes (one per kind)."""

    media: str
    signals: Sequence[Signal]


@dataclass(frozen=True)
class ItemView:
    """An item as its case holder sees it: no hash values, only kinds and counts."""

    id: int
    media: str
    kinds: list[str]
    created_at: datetime
    withdrawn_at: datetime | None
    matched: int
    acted_on: int


@dataclass(frozen=True)
class ItemsAdded:
    """Item ids in input order, and how many items were new or restored."""

    ids: list[int]
    added: int


@dataclass(frozen=True)
class CaseItems:
    """Every item of a case with its counts, and the case's totals."""

    number: str
    items_active: int
    items_withdrawn: int
    matched: int
    acted_on: int
    items: list[ItemView]


def _utc(moment: datetime) -> datetime:
    """A stored moment as aware UTC (SQLite hands back naive values)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def fingerprint(signals: Sequence[Signal]) -> str:
    """sha256 over the sorted kinds and value digests: equal for the same set of signals."""
    lines = sorted(f"{s.kind}:{digest(s.value)}" for s in signals)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _check(items: Sequence[NewItem], max_items: int) -> None:
    """Refuse an empty or oversized request, an unknown media word, an empty item or one with
    two signals of one kind, naming the item at fault."""
    if not items:
        raise Invalid("no items given")
    if len(items) > max_items:
        raise TooLarge(f"{len(items)} items in one request; at most {max_items}")
    for number, item in enumerate(items):
        if item.media not in MEDIA:
            raise Invalid(f"items[{number}]: media must be one of {', '.join(MEDIA)}")
        kinds = [s.kind for s in item.signals]
        if not kinds:
            raise Invalid(f"items[{number}]: no signals")
        if len(set(kinds)) != len(kinds):
            raise Invalid(f"items[{number}]: one signal of each kind at most")


def add_items(
    session: Session,
    case: Case,
    bank: Bank,
    items: Sequence[NewItem],
    max_items: int,
    quota: CaseQuota | None = None,
) -> ItemsAdded:
    """Add each file's signals to `bank` as one item of `case` (all or none, in the caller's
    transaction, within the case's `quota`); an item already there is returned, a withdrawn one
    is restored."""
    _check(items, max_items)
    actor = actor_of(case)
    ids: list[int] = []
    added: list[int] = []
    held: list[int] = []
    entries_added = 0
    now = utcnow()
    for new in items:
        entry_ids, fresh = add_signals(session, bank, actor, case.id, new.signals, quota=quota)
        entries_added += fresh
        held.extend(entry_ids)
        mark = fingerprint(new.signals)
        item = session.execute(
            select(Item).where(Item.case_id == case.id, Item.fingerprint == mark)
        ).scalar_one_or_none()
        if item is None:
            item = Item(case_id=case.id, media=new.media, fingerprint=mark, created_at=now)
            session.add(item)
            session.flush()
            session.add_all(ItemEntry(item_id=item.id, entry_id=e) for e in entry_ids)
            added.append(item.id)
        elif item.withdrawn_at is not None:
            item.withdrawn_at = None
            added.append(item.id)
        ids.append(item.id)
    session.flush()
    if added or entries_added:
        audit.record(
            session,
            actor,
            "item.add",
            f"case:{case.id}",
            bank=bank.name,
            items=sorted(set(added)),
            entries_added=entries_added,
            entry_ids=audit.id_ranges(held),
        )
    return ItemsAdded(ids, len(set(added)))


def case_item(session: Session, case: Case, item_id: int) -> Item:
    """An item of this case, or NotFound (items of other cases are invisible)."""
    item = session.get(Item, item_id)
    if item is None or item.case_id != case.id:
        raise NotFound(f"case has no item {item_id}")
    return item


def withdraw_item(session: Session, case: Case, item_id: int) -> Item:
    """Withdraw one of the case's items (idempotent): its entries that no other active item
    holds are withdrawn, fed to consumers and audited as any entry withdrawal."""
    item = case_item(session, case, item_id)
    if item.withdrawn_at is not None:
        return item
    item.withdrawn_at = utcnow()
    session.flush()
    still_held = (
        select(ItemEntry.entry_id)
        .join(Item, Item.id == ItemEntry.item_id)
        .where(Item.withdrawn_at.is_(None))
    )
    orphans = session.execute(
        select(Entry)
        .join(ItemEntry, ItemEntry.entry_id == Entry.id)
        .where(ItemEntry.item_id == item.id, Entry.id.not_in(still_held))
        .order_by(Entry.id)
    ).scalars()
    actor = actor_of(case)
    withdrawn = [entry.id for entry in orphans if withdraw(session, entry, actor)]
    audit.record(session, actor, "item.withdraw", f"item:{item.id}", entries=withdrawn)
    return item


def views(session: Session, items: Sequence[Item]) -> list[ItemView]:
    """The items as their holder sees them, with kinds and report counts, in the given order."""
    ids = [item.id for item in items]
    kinds: dict[int, set[str]] = {i: set() for i in ids}
    counts: dict[int, tuple[int, int]] = {}
    if ids:
        for item_id, kind in session.execute(
            select(ItemEntry.item_id, Entry.kind)
            .join(Entry, Entry.id == ItemEntry.entry_id)
            .where(ItemEntry.item_id.in_(ids))
        ):
            kinds[item_id].add(kind)
        acted = func.coalesce(func.sum(when((Report.action.in_(ACTED), 1), else_=0)), 0)
        for item_id, matched, acted_on in session.execute(
            select(ItemEntry.item_id, func.count(Report.id), acted)
            .join(Report, Report.entry_id == ItemEntry.entry_id)
            .where(ItemEntry.item_id.in_(ids))
            .group_by(ItemEntry.item_id)
        ):
            counts[item_id] = (int(matched), int(acted_on))
    return [
        ItemView(
            id=item.id,
            media=item.media,
            kinds=sorted(kinds[item.id]),
            created_at=_utc(item.created_at),
            withdrawn_at=None if item.withdrawn_at is None else _utc(item.withdrawn_at),
            matched=counts.get(item.id, (0, 0))[0],
            acted_on=counts.get(item.id, (0, 0))[1],
        )
        for item in items
    ]


def items_by_id(session: Session, ids: Sequence[int]) -> list[Item]:
    """The items with `ids`, in that order (repeats kept)."""
    rows = {i.id: i for i in session.execute(select(Item).where(Item.id.in_(set(ids)))).scalars()}
    return [rows[i] for i in ids]


def case_items(session: Session, case: Case) -> CaseItems:
    """Every item of the case in id order with its counts; the totals count each report on the
    case's items once, however many items share its entry."""
    items = list(
        session.execute(select(Item).where(Item.case_id == case.id).order_by(Item.id)).scalars()
    )
    active = sum(1 for item in items if item.withdrawn_at is None)
    held = (
        select(ItemEntry.entry_id)
        .join(Item, Item.id == ItemEntry.item_id)
        .where(Item.case_id == case.id)
    )
    reports = select(func.count()).select_from(Report).where(Report.entry_id.in_(held))
    matched = session.execute(reports).scalar_one()
    acted = session.execute(reports.where(Report.action.in_(ACTED))).scalar_one()
    return CaseItems(
        case.number, active, len(items) - active, matched, acted, views(session, items)
    )
