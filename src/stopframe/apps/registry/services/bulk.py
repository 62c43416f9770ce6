"""Entry statements that stay fast with thousands of values: a statement per chunk of rows, not
per row, and a plan that stays an index probe per value on PostgreSQL.

psycopg prepares a statement it has run five times, and PostgreSQL may then plan it once for any
values. In such a plan `digest IN (5,000 parameters)` becomes a filter comparing each of the
bank's rows with the whole list (seconds a call on a 100k-entry bank); a LATERAL lookup of each
element of one array parameter stays a probe of the (bank, owner, kind, digest) index. A plan made
while the table was empty (a first import's lookups) scans it instead, and the connection keeps it
until the table's statistics change: so a large insert is followed by ANALYZE, which also
gives the planner the new row counts at once. SQLite plans each statement afresh and keeps the
plain forms.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Integer, Select, String, Table, Text, bindparam, func, select, text, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from stopframe.apps.registry.models import Entry, Timestamp
from stopframe.signals import Signal

ANALYZE_AFTER = 1000  # rows inserted at once from which PostgreSQL's statistics are refreshed
# The columns an entry lookup reads: id, digest, withdrawn_at, withdrawn_by.
Lookup = Select[int, str, datetime | None, str | None]


def on_postgres(session: Session) -> bool:
    """True when the session writes to PostgreSQL (which takes array parameters)."""
    return session.get_bind().dialect.name == "postgresql"


def lookup(session: Session, bank_id: int, owner: str, kind: str, digests: list[str]) -> Lookup:
    """The entries of `owner` in the bank of one `kind` whose digest is among `digests`.

    On PostgreSQL each digest of the array is looked up on its own (a LATERAL subquery), so the
    plan is an index probe per digest whatever the table's statistics say."""
    columns = (Entry.id, Entry.digest, Entry.withdrawn_at, Entry.withdrawn_by)
    owned = (Entry.bank_id == bank_id, Entry.owner == owner, Entry.kind == kind)
    if not on_postgres(session):
        return select(*columns).where(*owned, Entry.digest.in_(digests))
    array = bindparam("digests", digests, type_=ARRAY(String))
    wanted = func.unnest(array).table_valued("digest").render_derived("wanted")
    # LIMIT 1 (the key is unique) keeps PostgreSQL from flattening it into a hash join.
    hit = select(*columns).where(*owned, Entry.digest == wanted.c.digest).limit(1).lateral("hit")
    return select(hit.c.id, hit.c.digest, hit.c.withdrawn_at, hit.c.withdrawn_by).select_from(
        wanted.join(hit, true())
    )


def insert(
    session: Session,
    bank_id: int,
    case_id: int | None,
    owner: str,
    now: datetime,
    rows: Sequence[tuple[str, str, Signal]],
) -> list[tuple[int, str, str]]:
    """Insert new entries, one per (kind, digest, signal); return their (id, kind, digest).

    PostgreSQL: one INSERT ... SELECT FROM unnest(four arrays). SQLite: SQLAlchemy's multi-row
    INSERT ... RETURNING (insertmanyvalues), a statement per page of rows.
    """
    # A declarative model's __table__ is its Table (the stubs say FromClause).
    entries = cast(Table, Entry.__table__)
    returned = (entries.c.id, entries.c.kind, entries.c.digest)
    if not on_postgres(session):
        values = [
            {
                "bank_id": bank_id,
                "case_id": case_id,
                "owner": owner,
                "kind": kind,
                "value": signal.value,
                "digest": dig,
                "quality": signal.quality,
                "created_at": now,
            }
            for kind, dig, signal in rows
        ]
        result = session.execute(entries.insert().returning(*returned), values)
        return [(eid, kind, dig) for eid, kind, dig in result]
    arrays = func.unnest(
        bindparam("kinds", [k for k, _, _ in rows], type_=ARRAY(String)),
        bindparam("values", [s.value for _, _, s in rows], type_=ARRAY(Text)),
        bindparam("digests", [d for _, d, _ in rows], type_=ARRAY(String)),
        bindparam("qualities", [s.quality for _, _, s in rows], type_=ARRAY(Integer)),
    )
    new = arrays.table_valued("kind", "value", "digest", "quality").render_derived("new")
    source = select(
        bindparam("bank_id", bank_id, type_=Integer),
        bindparam("case_id", case_id, type_=Integer),
        bindparam("owner", owner, type_=String),
        new.c.kind,
        new.c.value,
        new.c.digest,
        new.c.quality,
        bindparam("created_at", now, type_=Timestamp),
    )
    columns = ["bank_id", "case_id", "owner", "kind", "value", "digest", "quality", "created_at"]
    statement = entries.insert().from_select(columns, source).returning(*returned)
    return [(eid, kind, dig) for eid, kind, dig in session.execute(statement)]


def refresh_statistics(session: Session, inserted: int) -> None:
    """After inserting `inserted` entries, ANALYZE the table on PostgreSQL when that is many:
    plans cached for it (made when it was small) are dropped and new ones see its size."""
    if inserted >= ANALYZE_AFTER and on_postgres(session):
        session.execute(text("ANALYZE entries"))
