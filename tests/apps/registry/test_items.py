"""Items: one file's signals in a case, grouped over shared entries, counted, withdrawn; and the
item routes, which act with the case number and PIN alone."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from tests.apps.registry.conftest import settings_for_tests

from stopframe.apps.registry import audit
from stopframe.apps.registry.models import AuditRecord, Base, Change, Entry
from stopframe.apps.registry.services import banks, cases, items, keys, reports
from stopframe.apps.registry.terms import ReportedAction, Scope
from stopframe.errors import Invalid, NotFound, TooLarge
from stopframe.signals import Signal


def pdq(n: int) -> str:
    """A distinct, valid 64-hex PDQ value."""
    return hashlib.sha256(f"pdq-{n}".encode()).hexdigest()


def md5(n: int) -> str:
    """A distinct, valid MD5 value."""
    return hashlib.md5(f"file-{n}".encode()).hexdigest()


def photo(p: int, m: int) -> items.NewItem:
    """A photo item with PDQ number `p` and MD5 number `m`."""
    return items.NewItem("photo", [Signal("pdq", pdq(p), 90), Signal("md5", md5(m))])


def open_case(registry):  # type: ignore[no-untyped-def]
    issued = cases.issue_pin(registry.pins)
    with registry.db.write() as session:
        new = cases.create_case(session, issued, "test")
        case = cases.find_case(session, new.number)
        session.expunge(case)
    cases.check_case_pin(case, new.number, new.pin, registry.pins)
    return case


def add(registry, case, *new: items.NewItem) -> items.ItemsAdded:  # type: ignore[no-untyped-def]
    with registry.db.write() as session:
        bank = banks.case_bank(session, registry.settings.case_bank, "test")
        return items.add_items(session, session.merge(case), bank, list(new), 100)


def test_items_share_entries_and_the_same_signals_are_the_same_item(registry) -> None:  # type: ignore[no-untyped-def]
    case = open_case(registry)
    first = add(registry, case, photo(1, 1), photo(1, 2))  # two files, one PDQ
    assert first.added == 2 and len(set(first.ids)) == 2
    with registry.db.read() as session:
        assert session.execute(select(func.count()).select_from(Entry)).scalar_one() == 3
    again = add(registry, case, photo(1, 2), photo(1, 1))
    assert again.added == 0 and again.ids == first.ids[::-1]
    twice = add(registry, case, photo(3, 3), photo(3, 3))
    assert twice.added == 1 and twice.ids[0] == twice.ids[1]
    other = open_case(registry)  # another case with the same file has its own item and entries
    theirs = add(registry, other, photo(1, 1))
    assert theirs.added == 1 and theirs.ids[0] not in first.ids
    with registry.db.read() as session:
        assert session.execute(select(func.count()).select_from(Entry)).scalar_one() == 7


def test_withdrawing_keeps_entries_another_active_item_holds(registry) -> None:  # type: ignore[no-untyped-def]
    case = open_case(registry)
    one, two = add(registry, case, photo(1, 1), photo(1, 2)).ids
    with registry.db.read() as session:
        before = session.execute(select(func.count()).select_from(Change)).scalar_one()
    with registry.db.write() as session:
        withdrawn = items.withdraw_item(session, session.merge(case), one)
        assert withdrawn.withdrawn_at is not None
    with registry.db.read() as session:
        active = {
            e.value
            for e in session.execute(select(Entry).where(Entry.withdrawn_at.is_(None))).scalars()
        }
        assert active == {pdq(1), md5(2)}  # the shared PDQ stays: item two still holds it
        feed = session.execute(select(Change).where(Change.sequence > before)).scalars().all()
        assert [(c.op, c.entry_id) for c in feed] == [
            ("withdraw", session.execute(select(Entry.id).where(Entry.value == md5(1))).scalar())
        ]
        actions = [r.action for r in session.execute(select(AuditRecord)).scalars()]
        assert actions[-2:] == ["entry.withdraw", "item.withdraw"]
        assert audit.verify(session).ok
    with registry.db.write() as session:  # idempotent: no new change, no new audit row
        items.withdraw_item(session, session.merge(case), one)
        count = session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
    with registry.db.write() as session:
        items.withdraw_item(session, session.merge(case), two)
    with registry.db.read() as session:
        assert session.execute(select(func.count()).select_from(AuditRecord)).scalar_one() == (
            count + 3  # two entry withdrawals and the item's own row
        )
        assert not session.execute(select(Entry).where(Entry.withdrawn_at.is_(None))).first()
    restored = add(registry, case, photo(1, 1))  # the same file again brings the item back
    assert restored.added == 1 and restored.ids == [one]
    with registry.db.read() as session:
        view = items.case_items(session, case)
        assert (view.items_active, view.items_withdrawn) == (1, 1)
        live = session.execute(select(Entry.value).where(Entry.withdrawn_at.is_(None))).scalars()
        assert set(live) == {pdq(1), md5(1)}


def test_counts_per_item_and_per_case_count_each_report_once(registry) -> None:  # type: ignore[no-untyped-def]
    case = open_case(registry)
    one, two, three = add(registry, case, photo(1, 1), photo(1, 2), photo(3, 3)).ids
    with registry.db.write() as session:
        key = keys.create_key(session, "platform", [Scope.REPORT], "test").row
        other = keys.create_key(session, "another", [Scope.REPORT], "test").row
        ids = {
            e.value: e.id
            for e in session.execute(select(Entry).where(Entry.case_id == case.id)).scalars()
        }
        now = datetime.now(UTC)
        for reporter, value, action in (
            (key, pdq(1), ReportedAction.BLOCK),  # shared by items one and two
            (key, md5(1), ReportedAction.LOG),
            (key, md5(2), ReportedAction.REVIEW),
            (other, md5(2), ReportedAction.NONE),  # a key reports an entry once
        ):
            reports.add_report(session, reporter, ids[value], action, now)
    with registry.db.read() as session:
        view = items.case_items(session, case)
    counts = {i.id: (i.matched, i.acted_on) for i in view.items}
    assert counts == {one: (2, 1), two: (3, 2), three: (0, 0)}
    assert (view.matched, view.acted_on) == (4, 2)
    assert [i.kinds for i in view.items] == [["md5", "pdq"]] * 3
    assert all(i.created_at.tzinfo is not None for i in view.items)


def test_refusals_name_the_item_and_change_nothing(registry) -> None:  # type: ignore[no-untyped-def]
    case = open_case(registry)
    doubled = items.NewItem("photo", [Signal("md5", md5(1)), Signal("md5", md5(2))])
    for bad, error, words in (
        ([photo(1, 1), doubled], Invalid, r"items\[1\]: one signal of each kind"),
        ([photo(1, 1), items.NewItem("photo", [])], Invalid, r"items\[1\]: no signals"),
        ([items.NewItem("audio", [Signal("md5", md5(1))])], Invalid, "media must be"),
        ([photo(n, n) for n in range(101)], TooLarge, "101 items in one request; at most 100"),
    ):
        with pytest.raises(error, match=words):
            add(registry, case, *bad)
    with registry.db.read() as session:
        assert session.execute(select(func.count()).select_from(Entry)).scalar_one() == 0
    mine = add(registry, case, photo(1, 1)).ids[0]
    stranger = open_case(registry)
    with registry.db.write() as session, pytest.raises(NotFound):
        items.withdraw_item(session, session.merge(stranger), mine)


def test_the_migrations_build_what_the_models_describe(registry) -> None:  # type: ignore[no-untyped-def]
    with registry.db.writer.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


# --- routes ---------------------------------------------------------------------------------


def anonymous_case(client):  # type: ignore[no-untyped-def]
    """Open a case with the intake proof of work; return (number, PIN header)."""
    from stopframe.apps.proof_of_work import solve

    challenge = client.get("/v1/intake/challenge").json()
    nonce = solve(challenge["challenge"], challenge["difficulty"])
    created = client.post(
        "/v1/intake/cases", json={"challenge": challenge["challenge"], "nonce": nonce}
    )
    assert created.status_code == 201, created.text
    return created.json()["case_number"], {"X-Case-Pin": created.json()["pin"]}


def body(*specs: tuple[int, int], media: str = "photo") -> dict[str, object]:
    return {
        "items": [
            {
                "media": media,
                "signals": [
                    {"kind": "pdq", "value": pdq(p).upper(), "quality": 90},
                    {"kind": "md5", "value": md5(m), "quality": None},
                ],
            }
            for p, m in specs
        ]
    }


@pytest.fixture
def intake_client(database_url, tmp_path):  # type: ignore[no-untyped-def]
    """A registry app with a cheap proof of work and a tight limit on wrong PINs per address."""
    from fastapi.testclient import TestClient

    from stopframe.apps.registry.app import create_app
    from stopframe.apps.registry.state import open_registry

    settings = settings_for_tests(
        tmp_path / "data", database_url, intake_pow_bits=6, pin_failure_burst=3
    )
    reg = open_registry(settings)
    with TestClient(create_app(registry=reg), raise_server_exceptions=False) as http:
        yield http
    reg.db.dispose()


def test_item_routes_follow_the_contract_without_an_api_key(intake_client) -> None:  # type: ignore[no-untyped-def]
    client = intake_client
    number, pin = anonymous_case(client)
    url = f"/v1/cases/{number}/items"
    created = client.post(url, headers=pin, json=body((1, 1), (1, 2)))
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["added"] == 2
    first = answer["items"][0]
    assert set(first) == {
        "id",
        "media",
        "kinds",
        "created_at",
        "withdrawn_at",
        "matched",
        "acted_on",
    }
    assert first["kinds"] == ["md5", "pdq"] and first["withdrawn_at"] is None
    assert first["created_at"].endswith("Z") or "+00:00" in first["created_at"]
    assert pdq(1) not in created.text and md5(1) not in created.text  # no values echoed

    same = client.post(url, headers=pin, json=body((1, 2)))
    assert same.status_code == 200 and same.json()["added"] == 0
    assert same.json()["items"][0]["id"] == answer["items"][1]["id"]

    listed = client.get(url, headers=pin).json()
    assert listed["case_number"] == number
    assert (listed["items_active"], listed["items_withdrawn"]) == (2, 0)
    assert [i["id"] for i in listed["items"]] == [i["id"] for i in answer["items"]]

    gone = client.delete(f"{url}/{first['id']}", headers=pin)
    assert gone.status_code == 200 and gone.json()["withdrawn_at"]
    again = client.delete(f"{url}/{first['id']}", headers=pin)
    assert again.status_code == 200 and again.json()["withdrawn_at"] == gone.json()["withdrawn_at"]
    assert client.delete(f"{url}/999999", headers=pin).status_code == 404
    listed = client.get(url, headers=pin).json()
    assert (listed["items_active"], listed["items_withdrawn"]) == (1, 1)


def test_item_requests_are_all_or_none_and_bounded(intake_client) -> None:  # type: ignore[no-untyped-def]
    client = intake_client
    number, pin = anonymous_case(client)
    url = f"/v1/cases/{number}/items"
    bad = body((1, 1), (2, 2))
    bad["items"][1]["signals"][0]["value"] = "zz"  # type: ignore[index]
    refused = client.post(url, headers=pin, json=bad)
    assert refused.status_code == 422 and "items.1.signals.0" in refused.json()["detail"]
    doubled = body((1, 1))
    doubled["items"][0]["signals"].append({"kind": "md5", "value": md5(9)})  # type: ignore[index]
    refused = client.post(url, headers=pin, json=doubled)
    assert refused.status_code == 422 and "one signal of each kind" in refused.text
    assert client.post(url, headers=pin, json=body((1, 1), media="audio")).status_code == 422
    assert client.post(url, headers=pin, json={"items": []}).status_code == 422
    too_many = client.post(url, headers=pin, json=body(*((n, n) for n in range(101))))
    assert too_many.status_code == 413 and "at most 100" in too_many.json()["detail"]
    assert client.get(url, headers=pin).json()["items"] == []


def test_items_need_the_right_pin_and_wrong_pins_are_limited_per_address(intake_client) -> None:  # type: ignore[no-untyped-def]
    client = intake_client
    number, pin = anonymous_case(client)
    url = f"/v1/cases/{number}/items"
    assert client.get(url).status_code == 401
    unknown = client.get("/v1/cases/SF-AAAA-AAAA-AAAA/items", headers=pin)
    wrong = client.get(url, headers={"X-Case-Pin": "0000000000"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]
    # the address has now sent three wrong PINs, its whole allowance
    limited = client.get(url, headers=pin)  # even the right PIN waits: checked after the limit
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_a_right_pin_does_not_spend_the_address_allowance(intake_client) -> None:  # type: ignore[no-untyped-def]
    client = intake_client
    number, pin = anonymous_case(client)
    for _ in range(10):
        assert client.get(f"/v1/cases/{number}/items", headers=pin).status_code == 200


def test_an_api_key_may_come_along_but_only_the_pin_counts(client, headers, new_case) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()  # case headers carry a submit key and the PIN
    url = f"/v1/cases/{number}/items"
    assert client.post(url, headers=case, json=body((5, 5))).status_code == 201
    for key in (headers["read"], {"Authorization": "Bearer sfk_nope_nope"}):
        assert client.get(url, headers={**key, "X-Case-Pin": case["X-Case-PIN"]}).status_code == 200
    assert client.get(url, headers=headers["admin"]).status_code == 401  # a key is not a PIN


def test_entry_routes_still_work_beside_items(client, new_case) -> None:  # type: ignore[no-untyped-def]
    number, case = new_case()
    items_url = f"/v1/cases/{number}/items"
    item = client.post(items_url, headers=case, json=body((1, 1))).json()["items"][0]
    entries = client.get(f"/v1/cases/{number}/entries", headers=case).json()
    assert {e["value"] for e in entries} == {pdq(1), md5(1)}
    submitted = client.post(
        f"/v1/cases/{number}/entries",
        headers=case,
        json={"signals": [{"kind": "pdq", "value": pdq(1), "quality": 90}]},
    )
    assert submitted.status_code == 200 and submitted.json()["added"] == 0  # same entry
    summary = client.get(f"/v1/cases/{number}", headers=case).json()
    assert summary["entries_active"] == 2
    client.delete(f"{items_url}/{item['id']}", headers=case)
    assert client.get(f"/v1/cases/{number}", headers=case).json()["entries_active"] == 0
