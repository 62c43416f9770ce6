"""Registry hardening of reports and quotas: a report counted once per API key and entry, no
reports on withdrawn entries or from the future, no entry-id oracle for report keys, a quota of
active entries per case, degenerate hashes refused, an operator's withdrawal that sticks, and a
sane ceiling on bank thresholds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from stopframe.apps.registry.state import Registry

NewCase = Callable[[], tuple[str, dict[str, str]]]
Headers = dict[str, dict[str, str]]
PDQ = hashlib.sha256(b"benign picture").hexdigest()  # a varied 256-bit value


def sha256s(count: int, salt: str = "") -> list[dict[str, object]]:
    """`count` distinct benign sha256 signals."""
    return [
        {"kind": "sha256", "value": hashlib.sha256(f"{salt}benign-{n}".encode()).hexdigest()}
        for n in range(count)
    ]


def submit(
    client: TestClient, number: str, acting: dict[str, str], signals: list[dict[str, object]]
):  # type: ignore[no-untyped-def]
    """POST the signals to the case's entries."""
    return client.post(f"/v1/cases/{number}/entries", headers=acting, json={"signals": signals})


def entry_ids(
    client: TestClient, new_case: NewCase, count: int
) -> tuple[str, dict[str, str], list[int]]:
    """A new case holding `count` entries: (number, acting headers, entry ids)."""
    number, acting = new_case()
    answer = submit(client, number, acting, sha256s(count, number))
    assert answer.status_code == 201, answer.text
    return number, acting, [e["id"] for e in answer.json()["entries"]]


def report(entry_id: int, when: datetime | None = None, **extra: object) -> dict[str, object]:
    """A report body: blocked now (or at `when`)."""
    moment = when or datetime.now(UTC)
    return {"entry_id": entry_id, "action": "block", "matched_at": moment.isoformat(), **extra}


def matched(client: TestClient, number: str, acting: dict[str, str]) -> int:
    """The case's count of reported matches."""
    return int(client.get(f"/v1/cases/{number}", headers=acting).json()["matched"])


def test_a_repeated_report_is_acknowledged_but_counted_once(
    client: TestClient, headers: Headers, new_case: NewCase
) -> None:
    number, acting, ids = entry_ids(client, new_case, 2)
    first = client.post("/v1/reports", headers=headers["report"], json=report(ids[0]))
    assert first.status_code == 201, first.text
    for _ in range(5):
        again = client.post("/v1/reports", headers=headers["report"], json=report(ids[0]))
        assert again.status_code == 201 and again.json() == first.json()
    batch = {"reports": [report(ids[0], key=f"other-key-{n}") for n in range(3)]}
    answer = client.post("/v1/reports/batch", headers=headers["report"], json=batch).json()
    assert answer == {"accepted": 0, "duplicates": 3, "unknown": []}
    assert matched(client, number, acting) == 1
    other = client.post("/v1/reports", headers=headers["admin"], json=report(ids[0]))
    assert other.status_code == 201 and other.json() != first.json()  # another key counts
    assert matched(client, number, acting) == 2


def test_reports_on_withdrawn_and_unknown_entries_get_the_same_refusal(
    client: TestClient, headers: Headers, new_case: NewCase
) -> None:
    number, acting, ids = entry_ids(client, new_case, 2)
    gone = client.delete(f"/v1/cases/{number}/entries/{ids[1]}", headers=acting)
    assert gone.status_code == 200, gone.text
    unknown = 999_999
    answers = {
        entry: client.post("/v1/reports", headers=headers["report"], json=report(entry))
        for entry in (ids[1], unknown)
    }
    for entry, answer in answers.items():
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"].replace(str(entry), "N") == "no active entry N"
    batch = {"reports": [report(ids[1], key="withdrawn-1"), report(unknown, key="unknown-1")]}
    answer = client.post("/v1/reports/batch", headers=headers["report"], json=batch).json()
    assert answer == {"accepted": 0, "duplicates": 0, "unknown": [ids[1], unknown]}
    assert matched(client, number, acting) == 0


def test_a_report_from_the_future_is_refused(
    client: TestClient, headers: Headers, new_case: NewCase
) -> None:
    number, acting, ids = entry_ids(client, new_case, 1)
    future = datetime(2099, 1, 1, tzinfo=UTC)
    single = client.post("/v1/reports", headers=headers["report"], json=report(ids[0], future))
    assert single.status_code == 422, single.text
    assert "in the future" in single.json()["detail"]
    batch = {"reports": [report(ids[0], future, key="future-01")]}
    refused = client.post("/v1/reports/batch", headers=headers["report"], json=batch)
    assert refused.status_code == 422 and "in the future" in refused.json()["detail"]
    assert matched(client, number, acting) == 0
    skewed = datetime.now(UTC) + timedelta(minutes=1)  # a clock a little ahead is fine
    ok = client.post("/v1/reports", headers=headers["report"], json=report(ids[0], skewed))
    assert ok.status_code == 201, ok.text


def test_a_case_holds_at_most_its_quota_of_active_entries(
    client: TestClient, registry: Registry, new_case: NewCase
) -> None:
    assert registry.settings.max_case_entries == 5_000  # room for a real case
    registry.settings.max_case_entries = 5
    number, acting = new_case()
    assert submit(client, number, acting, sha256s(4)).status_code == 201
    over = submit(client, number, acting, sha256s(2, "more"))
    assert over.status_code == 413, over.text
    assert "at most 5 active entries" in over.json()["detail"]
    items = client.post(
        f"/v1/cases/{number}/items",
        headers=acting,
        json={
            "items": [{"media": "photo", "signals": s} for s in (sha256s(1, "a"), sha256s(1, "b"))]
        },
    )
    assert items.status_code == 413, items.text
    entries = client.get(f"/v1/cases/{number}/entries", headers=acting).json()
    assert len(entries) == 4  # all or none
    assert submit(client, number, acting, sha256s(1, "last")).status_code == 201
    other_number, other_acting = new_case()  # the quota is per case
    assert submit(client, other_number, other_acting, sha256s(5)).status_code == 201


@pytest.mark.parametrize(
    "signal",
    [
        {"kind": "pdq", "value": "0" * 64, "quality": 100},
        {"kind": "pdq", "value": "f" * 64, "quality": 100},
        {"kind": "pdq", "value": PDQ, "quality": 0},
        {"kind": "pdq", "value": PDQ, "quality": 49},
        {"kind": "md5", "value": hashlib.md5(b"").hexdigest()},
        {"kind": "sha256", "value": hashlib.sha256(b"").hexdigest()},
        {"kind": "sha256", "value": "0" * 64},
        {"kind": "md5", "value": "f" * 32},
    ],
    ids=[
        "pdq-zero",
        "pdq-ones",
        "pdq-q0",
        "pdq-q49",
        "md5-empty",
        "sha-empty",
        "sha-zero",
        "md5-f",
    ],
)
def test_a_degenerate_hash_is_refused(
    client: TestClient, new_case: NewCase, signal: dict[str, object]
) -> None:
    number, acting = new_case()
    answer = submit(client, number, acting, [*sha256s(1), signal])
    assert answer.status_code == 422, answer.text
    assert "signal 1 is refused" in answer.json()["detail"]
    assert client.get(f"/v1/cases/{number}/entries", headers=acting).json() == []
    fine = submit(client, number, acting, [{"kind": "pdq", "value": PDQ, "quality": 50}])
    assert fine.status_code == 201, fine.text


def test_an_operators_withdrawal_sticks(
    client: TestClient, headers: Headers, new_case: NewCase
) -> None:
    number, acting = new_case()
    signals = sha256s(2)
    ids = [e["id"] for e in submit(client, number, acting, signals).json()["entries"]]
    removed = client.delete(f"/v1/entries/{ids[0]}", headers=headers["admin"])
    assert removed.status_code == 200, removed.text
    again = submit(client, number, acting, signals)
    assert again.status_code == 409, again.text
    assert "withdrawn by the registry's operator" in again.json()["detail"]
    shown = {e["id"]: e for e in client.get(f"/v1/cases/{number}/entries", headers=acting).json()}
    assert shown[ids[0]]["withdrawn_at"] is not None
    # The holder's own withdrawal is still the holder's to undo.
    assert client.delete(f"/v1/cases/{number}/entries/{ids[1]}", headers=acting).status_code == 200
    restored = submit(client, number, acting, signals[1:])
    assert restored.status_code == 201 and restored.json()["added"] == 1


@pytest.mark.parametrize(
    ("kinds", "threshold"), [(["pdq"], 65), (["pdq"], 128), (["pdq_robust"], 65)]
)
def test_a_bank_threshold_over_the_sane_ceiling_is_refused(
    client: TestClient, headers: Headers, kinds: list[str], threshold: int
) -> None:
    body = {"name": "wide", "kinds": kinds, "distance_threshold": threshold}
    answer = client.post("/v1/banks", headers=headers["admin"], json=body)
    assert answer.status_code == 422, answer.text
    assert "is over 64" in answer.json()["detail"]
    fine = client.post(
        "/v1/banks", headers=headers["admin"], json={**body, "distance_threshold": 64}
    )
    assert fine.status_code == 201, fine.text


def test_a_case_holds_at_most_its_quota_of_value_characters(
    client: TestClient, registry: Registry, new_case: NewCase
) -> None:
    """Long recordings' values (vPDQ, its variants, TMK) weigh far more than pictures' hashes:
    a case's active values are bounded in characters as well as in entries."""
    assert registry.settings.max_case_value_chars == 256 << 20
    registry.settings.max_case_value_chars = 64 * 5  # five SHA-256 values
    number, acting = new_case()
    assert submit(client, number, acting, sha256s(4)).status_code == 201
    over = submit(client, number, acting, sha256s(2, "more"))
    assert over.status_code == 413, over.text
    assert "characters of hash values" in over.json()["detail"]
    assert submit(client, number, acting, sha256s(1, "last")).status_code == 201
