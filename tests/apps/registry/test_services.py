"""The services on their own, with no HTTP: a state change and its audit row happen together, so
a CLI, a test or the matcher leaves the same trail as a request; refusals are domain errors."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import AuditRecord
from stopframe.apps.registry.services import banks, cases, entries, feed, keys
from stopframe.apps.registry.terms import Scope
from stopframe.errors import Conflict, Invalid, NotFound, Unauthorized
from stopframe.signals import SIGNAL_TYPES, Signal


def md5(n: int) -> str:
    return hashlib.md5(f"benign-{n}".encode()).hexdigest()


def test_add_and_withdraw_leave_an_audit_trail(registry) -> None:  # type: ignore[no-untyped-def]
    issued = cases.issue_pin(registry.pins)
    with registry.db.write() as session:
        case_row = cases.create_case(session, issued, "test")
    with registry.db.read() as session:
        found = cases.find_case(session, case_row.number)
    case = cases.check_case_pin(found, case_row.number, case_row.pin, registry.pins)
    with registry.db.write() as session:
        bank = banks.case_bank(session, registry.settings.case_bank, "test")
        submitted = cases.submit(
            session, case, bank, [Signal("md5", md5(1)), Signal("md5", md5(2))]
        )
    assert submitted.added == 2
    with registry.db.write() as session:
        entry = cases.withdraw_entry(session, case, submitted.ids[0])
        assert entry.withdrawn_at is not None
        cases.withdraw_entry(session, case, submitted.ids[0])  # idempotent: no second row
    with registry.db.write() as session:
        entries.withdraw_entry(session, submitted.ids[1], "key:operator")

    with registry.db.read() as session:
        chain = audit.verify(session)
        rows = [
            (r.actor, r.action, r.subject)
            for r in session.execute(select(AuditRecord).order_by(AuditRecord.id)).scalars()
        ]
        changes = feed.changes_payload(session, 0, 100)["changes"]
    actor = f"case:{case.id}"
    assert chain.ok and chain.rows == len(rows)
    assert rows[-3:] == [
        (actor, "entry.add", actor),
        (actor, "entry.withdraw", f"entry:{submitted.ids[0]}"),
        ("key:operator", "entry.withdraw", f"entry:{submitted.ids[1]}"),
    ]
    assert [c["op"] for c in changes] == ["add", "add", "withdraw", "withdraw"]


def test_refusals_are_domain_errors_with_their_status(registry) -> None:  # type: ignore[no-untyped-def]
    with registry.db.write() as session:
        banks.create_bank(session, "photos", ["pdq"], "test")
    with registry.db.write() as session, pytest.raises(Conflict) as conflict:
        banks.create_bank(session, "photos", ["pdq"], "test")
    assert conflict.value.status == 409
    with registry.db.write() as session, pytest.raises(Invalid, match="does not take md5"):
        bank = banks.get_bank(session, "photos")
        entries.add_signals(session, bank, "import", None, [Signal("md5", md5(1))])
    with registry.db.write() as session, pytest.raises(Invalid, match="over 64"):
        banks.create_bank(session, "wide", ["pdq"], "test", distance_threshold=129)
    with registry.db.read() as session, pytest.raises(NotFound) as missing:
        entries.get_entry(session, 999)
    assert missing.value.status == 404
    with pytest.raises(Unauthorized) as wrong:
        cases.check_case_pin(None, "SF-AAAA-AAAA-AAAA", "0", registry.pins)
    assert wrong.value.extra == {"challenge": "CasePIN"}
    with registry.db.write() as session:
        key = keys.create_key(session, "t", [Scope.READ], "test")
        keys.revoke(session, key.row.key_id, "test")
    with registry.db.write() as session, pytest.raises(Conflict, match="revoked"):
        keys.rotate(session, key.row.key_id, "test")


def test_the_case_bank_takes_every_registered_kind(registry) -> None:  # type: ignore[no-untyped-def]
    with registry.db.write() as session:
        bank = banks.case_bank(session, "self-reported", "test")
    assert sorted(bank.kind_names) == sorted(SIGNAL_TYPES)
    assert bank.distance_threshold == SIGNAL_TYPES.bank_default_threshold(SIGNAL_TYPES) == 40
