"""Replay the audit log against the tables: a change made to the database without its audit row
(an entry reactivated, a key unrevoked, a report inserted or deleted) shows as a difference.

The log is read in chunks and the tables are streamed in id order; what is kept in memory is one
byte per entry id and item id, plus the sets of banks, cases, keys and the report counts.
Entries that already existed when a legacy log was anchored (`entries_before` of the chain start
row) are taken as added, since legacy imports and items did not name their entries.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from stopframe.apps.registry.audit import CHAIN_START
from stopframe.apps.registry.models import (
    ApiKey,
    AuditRecord,
    Bank,
    Case,
    Entry,
    Item,
    Report,
)

ABSENT, ACTIVE, WITHDRAWN = 0, 1, 2
STATES = {ABSENT: "absent", ACTIVE: "active", WITHDRAWN: "withdrawn"}
K = TypeVar("K", int, str)


def _set(states: bytearray, key: int, state: int) -> None:
    """Record `state` for id `key`, growing the table as needed."""
    if key >= len(states):
        states.extend(bytes(key + 1 - len(states) + 1024))
    states[key] = state


def _get(states: bytearray, key: int) -> int:
    """The state recorded for id `key` (ABSENT when none)."""
    return states[key] if key < len(states) else ABSENT


def _tail(subject: str) -> str:
    """What follows the kind in a subject such as `entry:12`."""
    return subject.partition(":")[2]


@dataclass
class Replayed:
    """What the log says the tables hold."""

    entries: bytearray = field(default_factory=bytearray)
    items: bytearray = field(default_factory=bytearray)
    entries_before: int = 0
    banks: set[str] = field(default_factory=set)
    cases: set[int] = field(default_factory=set)
    keys: dict[str, bool] = field(default_factory=dict)  # key id -> revoked
    reports_by_entry: Counter[int] = field(default_factory=Counter)
    reports_by_key: Counter[str] = field(default_factory=Counter)

    def apply(self, action: str, actor: str, subject: str, details: dict[str, Any]) -> None:
        """Apply one audit row."""
        if action == "entry.add":
            for entry_id in details.get("entries", []):
                _set(self.entries, entry_id, ACTIVE)
        elif action in ("item.add", "bank.import"):
            for first, last in details.get("entry_ids", []):
                for entry_id in range(first, last + 1):
                    _set(self.entries, entry_id, ACTIVE)
            for item_id in details.get("items", []):
                _set(self.items, item_id, ACTIVE)
        elif action == "entry.withdraw":
            _set(self.entries, int(_tail(subject)), WITHDRAWN)
        elif action == "item.withdraw":
            _set(self.items, int(_tail(subject)), WITHDRAWN)
        elif action == "bank.create":
            self.banks.add(_tail(subject))
        elif action == "case.create":
            self.cases.add(int(_tail(subject)))
        elif action == "key.create":
            self.keys[_tail(subject)] = False
        elif action == "key.revoke":
            self.keys[_tail(subject)] = True
        elif action == "report.add":
            self.reports_by_entry[int(_tail(subject))] += 1
            self.reports_by_key[_tail(actor)] += 1
        elif action == "report.add_batch":
            for entry_id, _action in details.get("reports", []):
                self.reports_by_entry[entry_id] += 1
                self.reports_by_key[_tail(actor)] += 1
        elif action == CHAIN_START:
            self.entries_before = int(details["entries_before"])

    def entry_state(self, entry_id: int) -> int:
        """What the log says of an entry; one from before a legacy log's anchor counts as added."""
        state = _get(self.entries, entry_id)
        return ACTIVE if state == ABSENT and entry_id <= self.entries_before else state


def replay_log(session: Session, batch: int = 10_000) -> Replayed:
    """Apply every audit row, in id order and in chunks of `batch`."""
    replayed = Replayed()
    last_id = 0
    query = select(
        AuditRecord.id,
        AuditRecord.action,
        AuditRecord.actor,
        AuditRecord.subject,
        AuditRecord.details,
    )
    while rows := session.execute(
        query.where(AuditRecord.id > last_id).order_by(AuditRecord.id).limit(batch)
    ).all():
        for row_id, action, actor, subject, details in rows:
            replayed.apply(action, actor, subject, json.loads(details))
            last_id = row_id
    return replayed


def differences(session: Session, batch: int = 10_000) -> Iterator[str]:
    """Each way the tables differ from the replayed log, one line each."""
    replayed = replay_log(session, batch)
    yield from _states(
        session,
        "entry",
        Entry.id,
        Entry.withdrawn_at,
        replayed.entry_state,
        replayed.entries,
        batch,
    )
    items = replayed.items
    yield from _states(
        session, "item", Item.id, Item.withdrawn_at, lambda i: _get(items, i), items, batch
    )
    banks = set(session.execute(select(Bank.name)).scalars())
    yield from _sets("bank", banks, replayed.banks)
    cases = {str(i) for i in session.execute(select(Case.id)).scalars()}
    yield from _sets("case", cases, {str(i) for i in replayed.cases})
    keys = {k: r is not None for k, r in session.execute(select(ApiKey.key_id, ApiKey.revoked_at))}
    yield from _sets("key", set(keys), set(replayed.keys))
    for key_id in sorted(set(keys) & set(replayed.keys)):
        if keys[key_id] != replayed.keys[key_id]:
            table, log = ("revoked", "active") if keys[key_id] else ("active", "revoked")
            yield f"key {key_id}: {table} in the table, {log} in the log"
    by_entry = session.execute(
        select(Report.entry_id, func.count()).group_by(Report.entry_id)
    ).all()
    yield from _counts("entry", dict(by_entry), replayed.reports_by_entry)
    by_key = session.execute(
        select(ApiKey.key_id, func.count())
        .join(Report, Report.api_key_id == ApiKey.id)
        .group_by(ApiKey.key_id)
    ).all()
    yield from _counts("key", dict(by_key), replayed.reports_by_key)


def _states(
    session: Session,
    kind: str,
    id_column: InstrumentedAttribute[int],
    withdrawn_column: InstrumentedAttribute[datetime | None],
    expected: Callable[[int], int],
    logged: bytearray,
    batch: int,
) -> Iterator[str]:
    """Stream a table's (id, withdrawn_at) in id order against the `expected` states; ids whose
    rows name them (`logged`) that the table lacks are named too."""
    last_id = 0
    while rows := session.execute(
        select(id_column, withdrawn_column)
        .where(id_column > last_id)
        .order_by(id_column)
        .limit(batch)
    ).all():
        for row_id, withdrawn_at in rows:
            yield from _missing(kind, logged, last_id + 1, row_id)
            state = ACTIVE if withdrawn_at is None else WITHDRAWN
            if expected(row_id) != state:
                log = STATES[expected(row_id)]
                yield f"{kind} {row_id}: {STATES[state]} in the table, {log} in the log"
            last_id = row_id
    yield from _missing(kind, logged, last_id + 1, len(logged))


def _missing(kind: str, logged: bytearray, first: int, stop: int) -> Iterator[str]:
    """Ids from `first` to before `stop` that rows of the log name but the table lacks."""
    for row_id in range(first, min(stop, len(logged))):
        if logged[row_id] != ABSENT:
            yield f"{kind} {row_id}: {STATES[logged[row_id]]} in the log, not in the table"


def _sets(kind: str, table: set[str], log: set[str]) -> Iterator[str]:
    """Names in only one of the table and the log."""
    for name in sorted(table - log):
        yield f"{kind} {name}: in the table, not created in the log"
    for name in sorted(log - table):
        yield f"{kind} {name}: created in the log, not in the table"


def _counts(kind: str, table: Mapping[K, int], log: Mapping[K, int]) -> Iterator[str]:
    """Report counts that differ between the table and the log."""
    for name in sorted(set(table) | set(log), key=str):
        if table.get(name, 0) != log.get(name, 0):
            yield (
                f"reports of {kind} {name}: {table.get(name, 0)} in the table, "
                f"{log.get(name, 0)} in the log"
            )
