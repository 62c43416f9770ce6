"""Bulk imports stay fast on PostgreSQL: the statements an import runs grow with its chunks, not
its rows, and the digest lookup stays an index probe per value even in the plan PostgreSQL makes
once for a statement psycopg has prepared (where `digest IN (...)` scanned the whole list for
every row of the bank: about 300 s for a first 100k-entry import)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, text

from stopframe.apps.registry.services import banks, transfer
from stopframe.signals import Signal

ENTRIES = 20_000


def signals(count: int) -> list[Signal]:
    """`count` distinct benign values, half md5, half good-quality PDQ."""
    out = []
    for n in range(count):
        value = hashlib.sha256(f"import-{n}".encode()).hexdigest()
        out.append(Signal("md5", value[:32]) if n % 2 else Signal("pdq", value, 100))
    return out


@contextmanager
def entry_statements(registry, table: str = "entries") -> Iterator[list[tuple[str, Any, int]]]:  # type: ignore[no-untyped-def]
    """Collect (statement, parameters, executions) for each statement on `table`: an
    executemany counts once per row, as the server runs it once per row."""
    seen: list[tuple[str, Any, int]] = []

    def note(_conn, _cursor, statement, parameters, _context, executemany) -> None:  # type: ignore[no-untyped-def]
        if re.search(rf"\b{table}\b", statement):
            rows = len(parameters) if executemany and isinstance(parameters, list) else 1
            seen.append((statement, parameters, rows))

    event.listen(registry.db.writer, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(registry.db.writer, "before_cursor_execute", note)


def test_an_import_runs_statements_per_chunk_not_per_row(registry) -> None:  # type: ignore[no-untyped-def]
    values = signals(ENTRIES)
    done: list[tuple[int, int]] = []
    with registry.db.write() as session:
        banks.create_bank(session, "partner", ["pdq", "md5"], "test")
    for _ in range(2):  # a first import, then the same again (every entry present)
        with entry_statements(registry) as seen, registry.db.write() as session:
            bank = banks.get_bank(session, "partner")
            result = transfer.import_signals(
                session, bank, values, "test", "test", progress=lambda *p: done.append(p)
            )
        executions = sum(rows for _, _, rows in seen)
        assert executions <= 60, f"{executions} statements on entries for {ENTRIES} rows"
    assert result.added == 0
    assert done[-1] == (ENTRIES, ENTRIES)
    assert [d for d, _ in done] == sorted(d for d, _ in done)


@pytest.mark.postgres
def test_an_import_writes_its_changes_in_a_statement_per_chunk(registry) -> None:  # type: ignore[no-untyped-def]
    if registry.db.writer.dialect.name != "postgresql":
        pytest.skip("SQLite steps an executemany in-process: no server round trip per row")
    with registry.db.write() as session:
        banks.create_bank(session, "partner", ["pdq", "md5"], "test")
    with entry_statements(registry, "changes") as seen, registry.db.write() as session:
        bank = banks.get_bank(session, "partner")
        result = transfer.import_signals(session, bank, signals(ENTRIES), "test", "test")
    assert result.added == ENTRIES
    inserts = [rows for statement, _, rows in seen if statement.lstrip().startswith("INSERT")]
    assert sum(inserts) <= 10, f"{sum(inserts)} inserts into changes for {ENTRIES} rows"
    with registry.db.read() as session:
        sequences = session.execute(text("SELECT min(sequence), max(sequence) FROM changes"))
        assert tuple(sequences.one()) == (1, ENTRIES)


@pytest.mark.postgres
def test_the_digest_lookup_is_a_probe_even_in_a_generic_plan(registry) -> None:  # type: ignore[no-untyped-def]
    if registry.db.writer.dialect.name != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    values = signals(ENTRIES)
    with registry.db.write() as session:
        bank = banks.create_bank(session, "partner", ["pdq", "md5"], "test")
        transfer.import_signals(session, bank, values, "test", "test")
    with registry.db.read() as session:  # analysed: plans made on the empty table are dropped
        rows = session.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'entries'::regclass")
        )
        assert rows.scalar_one() >= ENTRIES
    with entry_statements(registry) as seen, registry.db.write() as session:
        transfer.import_signals(session, banks.get_bank(session, "partner"), values, "t", "t")
    statement, parameters, _ = next(s for s in seen if s[0].lstrip().startswith("SELECT"))
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
    numbered = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement)
    connection = registry.db.writer.raw_connection()
    try:
        cursor = psycopg.ClientCursor(connection.driver_connection)  # values inline in EXECUTE
        cursor.execute(f"PREPARE lookup AS {numbered}")
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        marks = ", ".join(["%s"] * len(names))
        cursor.execute(f"EXPLAIN EXECUTE lookup({marks})", [parameters[n] for n in names])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        connection.rollback()
        connection.close()
    assert "$2" in plan, plan  # the generic plan, made for any values
    scans = [line for line in plan.splitlines() if "Filter" in line and "ANY" in line]
    assert not scans, plan[:2000]
    assert re.search(r"Index Cond: .*\(digest\)", plan), plan  # a probe of the unique index
