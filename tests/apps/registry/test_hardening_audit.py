"""The audit log is authenticated with a key kept apart from the database: re-hashing an edited
row, deleting or appending rows, truncating the newest ones (against a recorded head) and
changing the tables without a log row are all found by `stopframe registry audit verify`."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner, Result

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import AuditRecord, Entry
from stopframe.apps.registry.services import banks, cases, entries, items, keys, reports, transfer
from stopframe.apps.registry.services.items import NewItem
from stopframe.apps.registry.services.reports import KeyedReport
from stopframe.apps.registry.state import Registry, open_registry
from stopframe.apps.registry.terms import ReportedAction, Scope
from stopframe.cli import app
from stopframe.signals import Signal

runner = CliRunner()
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def md5(n: int) -> str:
    return hashlib.md5(f"benign-{n}".encode()).hexdigest()


def sha256(n: int) -> str:
    return hashlib.sha256(f"benign-{n}".encode()).hexdigest()


def verify(registry: Registry, *extra: str) -> Result:
    """`stopframe registry audit verify` on the registry's database and data folder."""
    args = ["registry", "audit", "verify", *extra]
    args += ["--data-dir", str(registry.settings.data_dir), "--database-url", registry.db.url]
    return runner.invoke(app, args)


def workload(registry: Registry) -> dict[str, Any]:
    """Banks, keys, a case with entries and items, an import, withdrawals, reports, a revoke."""
    issued = cases.issue_pin(registry.pins)
    with registry.db.write() as session:
        imports = banks.create_bank(session, "imports", ["md5", "sha256"], "cli")
        consumer = keys.create_key(session, "platform", [Scope.REPORT], "cli")
        old = keys.create_key(session, "old", [Scope.READ], "cli")
        made = cases.create_case(session, issued, "intake")
    with registry.db.read() as session:
        found = cases.find_case(session, made.number)
    case = cases.check_case_pin(found, made.number, made.pin, registry.pins)
    with registry.db.write() as session:
        bank = banks.case_bank(session, registry.settings.case_bank, "cli")
        submitted = cases.submit(session, case, bank, [Signal("md5", md5(n)) for n in range(4)])
        added = items.add_items(
            session,
            case,
            bank,
            [
                NewItem("photo", [Signal("md5", md5(10)), Signal("sha256", sha256(11))]),
                NewItem("video", [Signal("md5", md5(12))]),
            ],
            max_items=10,
        )
    with registry.db.write() as session:
        signals = [Signal("md5", md5(n)) for n in range(20, 25)]
        transfer.import_signals(session, imports, signals, "cli", "threatexchange-text")
        imported = list(
            session.execute(select(Entry.id).where(Entry.owner == "import").order_by(Entry.id))
            .scalars()
            .all()
        )
    with registry.db.write() as session:
        cases.withdraw_entry(session, case, submitted.ids[0])
        entries.withdraw_entry(session, imported[0], "cli")
        items.withdraw_item(session, case, added.ids[1])
    with registry.db.write() as session:
        key_row = keys.get_key(session, consumer.row.key_id)
        reports.add_report(session, key_row, submitted.ids[1], ReportedAction.BLOCK, NOW)
        reports.add_reports(
            session,
            key_row,
            [
                KeyedReport("r-1", submitted.ids[2], ReportedAction.REVIEW, NOW),
                KeyedReport("r-2", imported[1], ReportedAction.LOG, NOW),
            ],
        )
    with registry.db.write() as session:
        keys.revoke(session, old.row.key_id, "cli")
    return {
        "withdrawn": submitted.ids[0],
        "reported": submitted.ids[1],
        "revoked": old.row.key_id,
        "item": added.ids[1],
    }


def rows(registry: Registry) -> list[AuditRecord]:
    with registry.db.read() as session:
        return list(session.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars())


def sql(registry: Registry, statement: str, **params: Any) -> None:
    with registry.db.writer.begin() as connection:
        connection.execute(text(statement), params)


def rehash_from(registry: Registry, first_id: int) -> None:
    """What someone without the key can do after an edit: re-chain every row from `first_id` on
    with the plain sha256 the log used before it was authenticated."""
    log = rows(registry)
    prev = next((r.row_hash for r in reversed(log) if r.id < first_id), audit.GENESIS)
    for row in (r for r in log if r.id >= first_id):
        digest = audit.legacy_hash(row.at, row.actor, row.action, row.subject, row.details, prev)
        sql(
            registry,
            "UPDATE audit_log SET prev_hash = :p, row_hash = :h WHERE id = :i",
            p=prev,
            h=digest,
            i=row.id,
        )
        prev = digest


def test_a_realistic_workload_verifies_clean_with_its_head(registry) -> None:  # type: ignore[no-untyped-def]
    workload(registry)
    result = verify(registry)
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output and "differs" not in result.output
    with registry.db.read() as session:
        head_id, head_mac = audit.chain_head(session)
    assert head_id == rows(registry)[-1].id and f"head {head_id}:{head_mac}" in result.output
    assert verify(registry, "--expect-head", f"{head_id}:{head_mac}").exit_code == 0
    assert verify(registry, "--expect-head", f"{head_id}:{'0' * 64}").exit_code == 1
    key_file = registry.settings.data_dir / audit.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_an_edited_row_rehashed_without_the_key_fails(registry) -> None:  # type: ignore[no-untyped-def]
    workload(registry)
    middle = rows(registry)[3].id
    sql(registry, "UPDATE audit_log SET actor = 'someone-else' WHERE id = :i", i=middle)
    rehash_from(registry, middle)
    result = verify(registry)
    assert result.exit_code == 1 and f"broken at row {middle}" in result.output


def test_a_deleted_middle_row_fails_even_when_the_rest_is_rehashed(registry) -> None:  # type: ignore[no-untyped-def]
    workload(registry)
    middle = rows(registry)[4].id
    sql(registry, "DELETE FROM audit_log WHERE id = :i", i=middle)
    rehash_from(registry, middle + 1)
    result = verify(registry)
    assert result.exit_code == 1 and f"broken at row {middle + 1}" in result.output


def test_deleting_the_newest_rows_fails_against_the_recorded_head(registry) -> None:  # type: ignore[no-untyped-def]
    workload(registry)
    with registry.db.read() as session:
        head_id, head_mac = audit.chain_head(session)
    sql(registry, "DELETE FROM audit_log WHERE id >= :i", i=head_id - 1)
    result = verify(registry, "--expect-head", f"{head_id}:{head_mac}")
    assert result.exit_code == 1 and f"ends before the head {head_id}" in result.output


def test_an_appended_forged_row_fails(registry) -> None:  # type: ignore[no-untyped-def]
    workload(registry)
    last = rows(registry)[-1]
    details = '{"scopes":"admin","name":"backdoor"}'
    at = "2026-11-22T13:00:00Z"
    forged = audit.legacy_hash(at, "cli", "key.create", "key:k1", details, last.row_hash)
    sql(
        registry,
        "INSERT INTO audit_log (id, at, actor, action, subject, details, prev_hash, row_hash) "
        "VALUES (:i, :at, 'cli', 'key.create', 'key:k1', :d, :p, :h)",
        i=last.id + 1,
        at=at,
        d=details,
        p=last.row_hash,
        h=forged,
    )
    result = verify(registry)
    assert result.exit_code == 1 and f"broken at row {last.id + 1}" in result.output


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        (
            "UPDATE entries SET withdrawn_at = NULL, withdrawn_by = NULL WHERE id = {withdrawn}",
            "entry {withdrawn}: active in the table, withdrawn in the log",
        ),
        (
            "UPDATE api_keys SET revoked_at = NULL WHERE key_id = '{revoked}'",
            "key {revoked}: active in the table, revoked in the log",
        ),
        (
            "DELETE FROM reports WHERE entry_id = {reported}",
            "reports of entry {reported}: 0 in the table, 1 in the log",
        ),
        (
            "INSERT INTO entries (id, bank_id, owner, kind, value, digest, created_at) VALUES "
            "(1000, 1, 'import', 'md5', '" + md5(1000) + "', 'x', '2026-11-22 10:00:00')",
            "entry 1000: active in the table, absent in the log",
        ),
        (
            "UPDATE items SET withdrawn_at = NULL WHERE id = {item}",
            "item {item}: active in the table, withdrawn in the log",
        ),
    ],
)
def test_a_table_changed_without_a_log_row_is_reported_by_replay(  # type: ignore[no-untyped-def]
    registry, change: str, difference: str
) -> None:
    names = workload(registry)
    sql(registry, change.format(**names))
    result = verify(registry)
    assert result.exit_code == 1 and "audit chain intact" in result.output
    assert f"differs: {difference.format(**names)}" in result.output


def test_the_key_lives_apart_and_a_wrong_or_missing_key_fails(  # type: ignore[no-untyped-def]
    registry, monkeypatch
) -> None:
    workload(registry)
    monkeypatch.setenv(audit.KEY_ENV, base64.b64encode(secrets.token_bytes(32)).decode())
    wrong = verify(registry)
    assert wrong.exit_code == 1 and "broken at row 1" in wrong.output
    monkeypatch.delenv(audit.KEY_ENV)
    (registry.settings.data_dir / audit.KEY_FILE).unlink()
    missing = verify(registry)
    assert missing.exit_code == 1 and "no audit key" in missing.output


def test_legacy_rows_are_anchored_once_and_still_checked(registry) -> None:  # type: ignore[no-untyped-def]
    prev = audit.GENESIS
    for n in (1, 2, 3):
        at = f"2026-11-0{n}T10:00:00Z"
        digest = audit.legacy_hash(at, "cli", "case.pin_rehash", "case:1", "{}", prev)
        sql(
            registry,
            "INSERT INTO audit_log (id, at, actor, action, subject, details, prev_hash, row_hash) "
            "VALUES (:i, :at, 'cli', 'case.pin_rehash', 'case:1', '{}', :p, :h)",
            i=n,
            at=at,
            p=prev,
            h=digest,
        )
        prev = digest
    for _ in range(2):  # a second start adds no second chain start
        open_registry(registry.settings).db.dispose()
    log = rows(registry)
    assert [r.action for r in log] == ["case.pin_rehash"] * 3 + [audit.CHAIN_START]
    workload(registry)
    result = verify(registry)
    assert result.exit_code == 0, result.output
    assert "unauthenticated legacy rows up to id 3" in result.output
    sql(registry, "UPDATE audit_log SET at = '2026-11-09T10:00:00Z' WHERE id = 2")
    rehash_from(registry, 2)
    assert verify(registry).exit_code == 1


def test_the_signed_lists_publish_the_head_and_it_exposes_a_truncation(  # type: ignore[no-untyped-def]
    registry, headers
) -> None:
    from fastapi.testclient import TestClient

    from stopframe.apps.registry.app import create_app

    workload(registry)
    with TestClient(create_app(registry=registry)) as client:
        signed = client.get("/v1/lists/snapshot", headers=headers["read"]).json()
    head = signed["payload"]["audit_head"]
    with registry.db.read() as session:
        assert head == "{}:{}".format(*audit.chain_head(session))
    assert verify(registry, "--expect-head", head).exit_code == 0
    sql(registry, "DELETE FROM audit_log WHERE id = :i", i=int(head.split(":")[0]))
    assert verify(registry, "--expect-head", head).exit_code == 1
