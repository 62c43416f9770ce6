"""SQLAlchemy models: the registry's tables. Hash values only; no media, no personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime


class Base(DeclarativeBase):
    """Declarative base of every registry table."""


Timestamp = DateTime(timezone=True)


class Counter(Base):
    """Named counters; the `feed` row is the last change sequence and doubles as the writer lock."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


class Case(Base):
    """An anonymous case: a number and a PIN hash, nothing about the person."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    pin_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, nullable=False)


class Bank(Base):
    """A named list of entries with the defaults a consumer applies to its matches."""

    __tablename__ = "banks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    kinds: Mapped[str] = mapped_column(
        String(64), nullable=False
    )  # comma-separated signal type names
    distance_threshold: Mapped[int] = mapped_column(Integer, nullable=False)
    verified: Mapped[bool] = mapped_column(Boolean, nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)  # block | review | log
    created_at: Mapped[datetime] = mapped_column(Timestamp, nullable=False)

    @property
    def kind_names(self) -> list[str]:
        """The names of the signal types the bank takes (stored comma-separated)."""
        return self.kinds.split(",")


class Entry(Base):
    """One hash in one bank, owned by a case (`case:<id>`) or an import (`import`)."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("bank_id", "owner", "kind", "digest", name="uq_entry"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"), nullable=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    owner: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)  # sha256 of the value
    quality: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(Timestamp)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))  # the audit actor who withdrew
    bank: Mapped[Bank] = relationship(lazy="joined")


class Item(Base):
    """The signals of one file within a case; `fingerprint` (sha256 of its sorted kinds and value
    digests) makes the same set of signals one item per case."""

    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("case_id", "fingerprint", name="uq_item"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), nullable=False)
    media: Mapped[str] = mapped_column(String(8), nullable=False)  # photo | video | other
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, nullable=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ItemEntry(Base):
    """Which entries an item holds; one entry may belong to several items."""

    __tablename__ = "item_entries"
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True, index=True)


class Change(Base):
    """The change feed: gap-free, ordered sequence numbers of additions and withdrawals."""

    __tablename__ = "changes"
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), nullable=False, index=True)
    op: Mapped[str] = mapped_column(String(8), nullable=False)  # add | withdraw
    created_at: Mapped[datetime] = mapped_column(Timestamp, nullable=False)


class ApiKey(Base):
    """A consumer's API key: only its sha256 is kept; scopes are comma-separated."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    scopes: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Report(Base):
    """A consumer's report that it matched an entry and what it did; never media. A batched
    report carries the consumer's idempotency key, unique per API key, so a retry stores
    nothing twice."""

    __tablename__ = "reports"
    __table_args__ = (Index("uq_reports_key", "api_key_id", "report_key", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), nullable=False, index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    matched_at: Mapped[datetime] = mapped_column(Timestamp, nullable=False)
    created_at: Mapped[datetime] = mapped_column(Timestamp, nullable=False)
    report_key: Mapped[str | None] = mapped_column(String(64))


class AuditRecord(Base):
    """Append-only audit log; each row hashes its content together with the previous row's hash."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40), nullable=False)  # ISO-8601 UTC, hashed verbatim
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    subject: Mapped[str] = mapped_column(String(128), nullable=False)
    details: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    row_hash: Mapped[str] = mapped_column(String(64), nullable=False)


Index("ix_entries_active", Entry.bank_id, Entry.withdrawn_at)
