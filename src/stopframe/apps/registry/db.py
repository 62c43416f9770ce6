"""Database engines and transactions: one writer at a time, readers on consistent snapshots.

Every write transaction first locks the single `counters` row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite's writer lock, taken by BEGIN IMMEDIATE). Writes are therefore serial, which is
what keeps feed sequence numbers gap-free and ordered and the audit chain linear. A write that
appended changes wakes this process's long-polling feed readers once it has committed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session

from stopframe.apps.registry.feedwatch import FeedWatch
from stopframe.apps.registry.models import Counter

FEED_COUNTER = "feed"
FEED_ADVANCED = "stopframe.feed_advanced"  # session.info flag: this transaction appended changes


def _sqlite_engine(url: str, begin: str) -> Engine:
    """A SQLite engine in WAL mode with foreign keys on, whose transactions start with `begin`."""
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql(begin)

    return engine


@dataclass
class Database:
    """The registry's engines: `writer` for state changes, `reader` for queries and exports."""

    url: str
    writer: Engine
    reader: Engine
    # SQLite's busy handler backs off in sleeps of up to 100 ms; queueing this process's writers
    # on a plain lock first keeps them from contending for the file lock at all.
    _local_writer: threading.Lock = field(default_factory=threading.Lock)
    feed_watch: FeedWatch = field(default_factory=FeedWatch)

    @property
    def is_sqlite(self) -> bool:
        """True when the backing database is SQLite."""
        return self.writer.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One all-or-nothing write transaction holding the registry's writer lock; when it
        appended changes, waiting feed readers are woken after the commit."""
        local = self._local_writer if self.is_sqlite else nullcontext()
        with local, Session(self.writer, expire_on_commit=False) as session:
            with session.begin():
                session.execute(
                    select(Counter.value).where(Counter.name == FEED_COUNTER).with_for_update()
                ).scalar_one()
                yield session
            advanced = session.info.pop(FEED_ADVANCED, False)
        if advanced:
            self.feed_watch.advanced()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction on one consistent snapshot of the database."""
        with Session(self.reader) as session:  # closing rolls the snapshot back
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.writer.dispose()
        self.reader.dispose()


def open_database(url: str) -> Database:
    """Engines for `url` (sqlite:///path or postgresql+psycopg://...)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return Database(url, _sqlite_engine(url, "BEGIN IMMEDIATE"), _sqlite_engine(url, "BEGIN"))
    writer = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    reader = create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10, isolation_level="REPEATABLE READ"
    )
    return Database(url, writer, reader)
