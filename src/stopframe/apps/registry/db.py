"""Database engines and transactions: one writer at a time, readers on consistent snapshots.

Every write transaction first locks the single `counters` row (SELECT ... FOR UPDATE on
PostgreSQL; SQLite's writer lock, taken by BEGIN IMMEDIATE). Writes are therefore serial, which is
what keeps feed sequence numbers gap-free and ordered and the audit chain linear. A write that
appended changes wakes this process's long-polling feed readers once it has committed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from stopframe.apps.registry.feedwatch import FeedWatch
from stopframe.apps.registry.models import Counter
from stopframe.errors import StopframeError

FEED_COUNTER = "feed"
FEED_ADVANCED = "stopframe.feed_advanced"  # session.info flag: this transaction appended changes
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


class DatabaseUnavailable(StopframeError):
    """The database cannot be opened or reached; the message names it (password hidden)."""


def shown_url(url: str) -> str:
    """`url` safe to print: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparsable database URL)"


def _one_line(exc: BaseException) -> str:
    """The driver's own reason for `exc` (not SQLAlchemy's wrapper text), on one line."""
    reason = str(getattr(exc, "orig", None) or exc)
    return " ".join(part.strip() for part in reason.splitlines() if part.strip())


def _make_private(path: Path) -> None:
    """Restrict the SQLite file and its -wal/-shm companions (those that exist) to the owner;
    SQLite gives companions it creates later the database file's own mode."""
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if companion.stat().st_mode & 0o077:
                companion.chmod(PRIVATE_FILE)
        except (FileNotFoundError, PermissionError):
            pass  # not there yet, or another user's file: SQLite reports what it cannot open


def _sqlite_engine(url: str, begin: str, path: Path | None) -> Engine:
    """A SQLite engine in WAL mode with foreign keys on, whose transactions start with `begin`;
    the file at `path` (if any) and its companions are kept private to the owner."""
    engine = create_engine(
        url, connect_args={"timeout": 60, "check_same_thread": False}, hide_parameters=True
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        if path is not None:
            _make_private(path)
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()
        if path is not None:
            _make_private(path)  # WAL mode has just made the -shm file

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


def _create_sqlite_file(path: Path) -> None:
    """Make the folder (0700) and an empty database file (0600) before SQLite would make them
    world-readable; an existing file is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:
        pass


def _check_reachable(db: Database) -> None:
    """Connect once so an unreachable database is one clear error now, not a traceback later."""
    try:
        with db.reader.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.dispose()
        raise DatabaseUnavailable(
            f"cannot open database {shown_url(db.url)}: {_one_line(exc)}"
        ) from None


def open_database(url: str) -> Database:
    """Engines for `url` (sqlite:///path or postgresql+psycopg://...), checked to be reachable;
    DatabaseUnavailable names the database (password hidden) and why when it is not."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"not a database URL: {shown_url(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database) if parsed.database and parsed.database != ":memory:" else None
        if path is not None:
            try:
                _create_sqlite_file(path)
            except OSError as exc:
                raise DatabaseUnavailable(
                    f"cannot open database {shown_url(url)}: {exc.strerror or exc} ({path})"
                ) from None
        db = Database(
            url,
            _sqlite_engine(url, "BEGIN IMMEDIATE", path),
            _sqlite_engine(url, "BEGIN", path),
        )
    else:
        writer = create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
        )
        reader = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            isolation_level="REPEATABLE READ",
            hide_parameters=True,
        )
        db = Database(url, writer, reader)
    _check_reachable(db)
    return db
