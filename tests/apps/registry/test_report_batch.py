"""Batched match reports: a batch sent twice counts once (its keys make the retry harmless),
unknown entries are named without failing the rest, each case's counts move once per accepted
report, one audit row lists the batch, bad batches are refused whole; the report-key migration
runs on a database holding reports, and the database itself refuses a key used twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from stopframe.apps.registry import audit
from stopframe.apps.registry.db import open_database
from stopframe.apps.registry.migrate import MIGRATIONS, upgrade
from stopframe.apps.registry.models import AuditRecord, Report
from stopframe.errors import RegistryError
from stopframe.lists.client import RegistryClient

BATCH = "/v1/reports/batch"
WHEN = "2026-11-22T12:00:00Z"


def report(key: str, entry_id: int, action: str = "block") -> dict[str, object]:
    return {"key": key, "entry_id": entry_id, "action": action, "matched_at": WHEN}


@pytest.fixture
def case_with_entries(client, new_case):  # type: ignore[no-untyped-def]
    """A case with three entries: (counts URL, case headers, entry ids)."""
    number, case = new_case()
    signals = [{"kind": "md5", "value": f"{n:032x}"} for n in range(1, 4)]
    added = client.post(f"/v1/cases/{number}/entries", headers=case, json={"signals": signals})
    assert added.status_code == 201, added.text
    return f"/v1/cases/{number}", case, [e["id"] for e in added.json()["entries"]]


def counts(registry) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(reports, audit rows) in the database."""
    with registry.db.read() as session:
        return tuple(
            session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Report, AuditRecord)
        )


def test_a_batch_sent_twice_counts_once(client, headers, registry, case_with_entries) -> None:  # type: ignore[no-untyped-def]
    url, case, ids = case_with_entries
    batch = {
        "reports": [
            report("platform-0001", ids[0], "block"),
            report("platform-0002", ids[1], "review"),
            report("platform-0003", 999_999, "block"),
            report("platform-0004", ids[2], "log"),
            report("platform-0005", 888_888, "none"),
        ]
    }
    first = client.post(BATCH, headers=headers["report"], json=batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 3, "duplicates": 0, "unknown": [999_999, 888_888]}
    seen = client.get(url, headers=case).json()
    assert (seen["matched"], seen["acted_on"]) == (3, 2)
    before = counts(registry)

    again = client.post(BATCH, headers=headers["report"], json=batch)  # the answer was lost
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 3, "unknown": [999_999, 888_888]}
    assert counts(registry) == before  # no report, no audit row
    seen = client.get(url, headers=case).json()
    assert (seen["matched"], seen["acted_on"]) == (3, 2)

    mixed = {"reports": [report("platform-0001", ids[0]), report("platform-0006", ids[0])]}
    answer = client.post(BATCH, headers=headers["report"], json=mixed).json()
    assert answer == {"accepted": 0, "duplicates": 2, "unknown": []}  # one report per entry
    assert client.get(url, headers=case).json()["matched"] == 3


def test_one_audit_row_names_the_batch(client, headers, registry, case_with_entries) -> None:  # type: ignore[no-untyped-def]
    _, _, ids = case_with_entries
    batch = {"reports": [report("audit-key-1", ids[0], "block"), report("audit-key-2", ids[2])]}
    assert client.post(BATCH, headers=headers["report"], json=batch).json()["accepted"] == 2
    with registry.db.read() as session:
        rows = session.execute(
            select(AuditRecord).where(AuditRecord.action == "report.add_batch")
        ).scalars()
        (row,) = list(rows)
        assert audit.verify(session).ok
    assert row.actor.startswith("key:") and row.subject == row.actor
    assert json.loads(row.details) == {"reports": [[ids[0], "block"], [ids[2], "block"]]}


def test_a_key_repeated_within_a_batch_counts_once_and_keys_belong_to_their_api_key(
    client, headers, case_with_entries
) -> None:  # type: ignore[no-untyped-def]
    url, case, ids = case_with_entries
    twice = {"reports": [report("same-key-01", ids[0]), report("same-key-01", ids[1])]}
    answer = client.post(BATCH, headers=headers["report"], json=twice).json()
    assert answer == {"accepted": 1, "duplicates": 1, "unknown": []}
    other = client.post(BATCH, headers=headers["admin"], json=twice).json()  # another API key
    assert other == {"accepted": 1, "duplicates": 1, "unknown": []}
    assert client.get(url, headers=case).json()["matched"] == 2


@pytest.mark.parametrize(
    ("items", "needle"),
    [
        ([report(f"too-many-{n:04d}", 1) for n in range(1001)], "at most 1000"),
        ([], "at least 1"),
        ([report("short", 1)], "at least 8"),
        ([report("x" * 65, 1)], "at most 64"),
        ([report("has spaces!", 1)], "pattern"),
        ([report("action-bad", 1, "delete")], "action"),
        ([{**report("extra-field", 1), "media": "aGVsbG8="}], "Extra inputs"),
        ([{k: v for k, v in report("no-entry-id", 1).items() if k != "entry_id"}], "entry_id"),
    ],
    ids=["1001", "empty", "short-key", "long-key", "bad-key", "action", "media", "no-entry"],
)
def test_a_bad_batch_is_refused_whole(
    client, headers, registry, case_with_entries, items, needle
) -> None:  # type: ignore[no-untyped-def]
    _, _, ids = case_with_entries
    before = counts(registry)
    body = {"reports": [report("good-key-1", ids[0]), *items] if items else []}
    response = client.post(BATCH, headers=headers["report"], json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert needle in response.json()["detail"], response.json()["detail"]
    assert counts(registry) == before


def test_the_client_sends_a_batch_and_raises_on_refusal(client, headers, case_with_entries) -> None:  # type: ignore[no-untyped-def]
    url, case, ids = case_with_entries
    key = headers["report"]["Authorization"].removeprefix("Bearer ")
    rc = RegistryClient("http://testserver", key, {}, http=client)
    batch = [report("client-0001", ids[0]), report("client-0002", 424_242)]
    assert rc.report_batch(batch) == {"accepted": 1, "duplicates": 0, "unknown": [424_242]}
    assert rc.report_batch(batch) == {"accepted": 0, "duplicates": 1, "unknown": [424_242]}
    with pytest.raises(RegistryError, match="422"):
        rc.report_batch([report("client-0003", ids[0], "explode")])
    reader = RegistryClient(
        "http://testserver",
        headers["read"]["Authorization"].removeprefix("Bearer "),
        {},
        http=client,
    )
    with pytest.raises(RegistryError, match="403"):
        reader.report_batch(batch)
    assert client.get(url, headers=case).json()["matched"] == 1


def test_the_report_key_migration_keeps_reports_and_the_database_refuses_a_reused_key(
    database_url,
) -> None:  # type: ignore[no-untyped-def]
    db = open_database(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with db.writer.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.exec_driver_sql(
                "INSERT INTO banks (id, name, kinds, distance_threshold, verified, action, "
                "created_at) VALUES (1, 'b', 'md5', 0, false, 'review', '2026-11-22 10:00:00')"
            )
            connection.exec_driver_sql(
                "INSERT INTO entries (id, bank_id, owner, kind, value, digest, created_at) "
                "VALUES (1, 1, 'import', 'md5', 'x', 'd', '2026-11-22 10:00:00')"
            )
            connection.exec_driver_sql(
                "INSERT INTO api_keys (id, key_id, key_hash, name, scopes, created_at) "
                "VALUES (1, 'k1', 'h1', 'platform', 'report', '2026-11-22 10:00:00')"
            )
            connection.exec_driver_sql(
                "INSERT INTO reports (entry_id, api_key_id, action, matched_at, created_at) "
                "VALUES (1, 1, 'block', '2026-11-22 10:00:00', '2026-11-22 10:00:00')"
            )
        upgrade(db.writer)
        upgrade(db.writer)  # idempotent
        row = {"entry_id": 1, "api_key_id": 1, "action": "log"}
        now = datetime(2026, 11, 22, 11, tzinfo=UTC)
        times = {"matched_at": now, "created_at": now}
        with db.writer.begin() as connection:
            old = connection.execute(select(Report.action, Report.report_key)).all()
            assert [tuple(r) for r in old] == [("block", None)]
            for _ in range(2):  # reports sent one at a time carry no key: no clash
                connection.execute(insert(Report).values(**row, **times))
            connection.execute(insert(Report).values(**row, **times, report_key="retry-key-1"))
        with pytest.raises(IntegrityError), db.writer.begin() as connection:
            connection.execute(insert(Report).values(**row, **times, report_key="retry-key-1"))
        with db.writer.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        with db.writer.begin() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM reports").scalar_one() == 4
        upgrade(db.writer)
    finally:
        db.dispose()
