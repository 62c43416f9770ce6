"""PIN checks cannot be turned into a CPU weapon or a lock-out: wrong PINs are limited per client
address and per API key on every PIN route, scrypt runs in a bounded pool and never under the
writer lock, unknown and known case numbers cost the same scrypt work after a change of N, and a
guesser never locks the holder out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from stopframe.apps.registry import credentials
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.models import Case
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope

from .conftest import make_key

WRONG = "0000000000"
UNKNOWN = "SF-AAAA-AAAA-AAAA"


def scrypt_costs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the N of every scrypt run from now on."""
    costs: list[int] = []
    real = credentials._scrypt

    def spy(pin: str, salt: bytes, n: int) -> bytes:
        costs.append(n)
        return real(pin, salt, n)

    monkeypatch.setattr(credentials, "_scrypt", spy)
    return costs


def app_for(registry: Registry, **settings: object) -> Registry:
    """A registry on the same database with `settings` changed (and fresh buckets)."""
    return Registry(registry.settings.model_copy(update=settings), registry.db, registry.keyring)


def bearer(registry: Registry) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(registry, Scope.SUBMIT)}"}


def open_case(http: TestClient, key: dict[str, str]) -> tuple[str, str]:
    created = http.post("/v1/cases", headers=key)
    assert created.status_code == 201, created.text
    return created.json()["case_number"], created.json()["pin"]


def test_case_creation_hashes_the_pin_outside_the_write_transaction(registry, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    inside = threading.Event()
    real_write = registry.db.write

    @contextmanager
    def write() -> Iterator[object]:
        with real_write() as session:
            inside.set()
            try:
                yield session
            finally:
                inside.clear()

    monkeypatch.setattr(registry.db, "write", write)
    under_lock: list[bool] = []
    real = credentials._scrypt
    monkeypatch.setattr(
        credentials, "_scrypt", lambda *a: under_lock.append(inside.is_set()) or real(*a)
    )
    key = bearer(registry)
    with TestClient(create_app(registry=registry)) as http:
        open_case(http, key)
    assert under_lock == [False]


def test_unknown_and_known_cases_cost_the_same_after_n_is_raised(registry, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key = bearer(registry)
    with TestClient(create_app(registry=registry)) as http:
        number, pin = open_case(http, key)  # hashed at N=1024
    raised = app_for(registry, pin_scrypt_n=4096, pin_failure_burst=100)
    costs = scrypt_costs(monkeypatch)
    with TestClient(create_app(registry=raised)) as http:
        spent = []
        for case in (number, UNKNOWN):
            costs.clear()
            answer = http.get(f"/v1/cases/{case}", headers={**key, "X-Case-PIN": WRONG})
            assert answer.status_code == 401
            spent.append(sum(costs))
        assert spent == [4096, 4096]  # scrypt work, not wall time: known == unknown

        costs.clear()  # the holder's next login rehashes the PIN at the current N
        assert http.get(f"/v1/cases/{number}", headers={**key, "X-Case-PIN": pin}).is_success
    with registry.db.read() as session:
        stored = session.execute(select(Case.pin_hash).where(Case.number == number)).scalar_one()
    assert credentials.scrypt_n_of(stored) == 4096
    with TestClient(create_app(registry=raised)) as http:
        costs.clear()
        assert (
            http.get(f"/v1/cases/{number}", headers={**key, "X-Case-PIN": WRONG}).status_code == 401
        )
        assert costs == [4096]


def test_a_guesser_does_not_lock_the_holder_out(registry) -> None:  # type: ignore[no-untyped-def]
    tight = app_for(registry, case_burst=3, case_rate=0.001, pin_failure_burst=3)
    key, other = bearer(registry), bearer(registry)
    app = create_app(registry=tight)
    with TestClient(app) as holder, TestClient(app, client=("192.0.2.7", 5000)) as guesser:
        number, pin = open_case(holder, key)
        codes = [
            guesser.get(f"/v1/cases/{number}/items", headers={"X-Case-Pin": WRONG}).status_code
            for _ in range(5)
        ]
        assert codes == [401, 401, 401, 429, 429]  # the guesser's address is out of tries
        as_holder = {**other, "X-Case-PIN": pin}
        assert holder.get(f"/v1/cases/{number}", headers=as_holder).status_code == 200
        assert holder.get(f"/v1/cases/{number}/items", headers={"X-Case-Pin": pin}).is_success


def test_wrong_pins_are_limited_per_api_key_before_any_scrypt(registry, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    tight = app_for(registry, pin_key_failure_burst=3, pin_key_failure_rate=0.001)
    key, other = bearer(registry), bearer(registry)
    with TestClient(create_app(registry=tight)) as http:
        number, pin = open_case(http, key)
        costs = scrypt_costs(monkeypatch)
        codes = [
            http.get(f"/v1/cases/{n}", headers={**key, "X-Case-PIN": WRONG}).status_code
            for n in (number, UNKNOWN, "SF-BBBB-BBBB-BBBB", number)
        ]
        assert codes == [401, 401, 401, 429]
        assert len(costs) == 3  # the refused check ran no scrypt
        refused = http.get(f"/v1/cases/{number}", headers={**key, "X-Case-PIN": pin})
        assert refused.status_code == 429 and "API key" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) >= 1
        other_key = http.get(f"/v1/cases/{number}", headers={**other, "X-Case-PIN": pin})
        assert other_key.status_code == 200


def test_wrong_pins_are_limited_per_address_on_the_entry_routes(registry) -> None:  # type: ignore[no-untyped-def]
    tight = app_for(registry, pin_failure_burst=2, pin_failure_rate=0.001)
    with TestClient(create_app(registry=tight)) as http:
        number, _ = open_case(http, bearer(registry))
        codes = [
            http.get(
                f"/v1/cases/{number}/entries",
                headers={**bearer(registry), "X-Case-PIN": WRONG},  # a new key each time
            ).status_code
            for _ in range(3)
        ]
        assert codes == [401, 401, 429]


def test_pin_checks_wait_for_a_turn_then_answer_503(registry, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    busy = app_for(registry, pin_hash_workers=1, pin_hash_wait_s=0.05)
    key = bearer(registry)
    with TestClient(create_app(registry=busy)) as http:
        number, pin = open_case(http, key)
        started, release = threading.Event(), threading.Event()
        real = credentials._scrypt

        def slow(*args):  # type: ignore[no-untyped-def]
            started.set()
            release.wait(10)
            return real(*args)

        monkeypatch.setattr(credentials, "_scrypt", slow)
        holder = threading.Thread(target=busy.pins.hash, args=("1234567890",))
        holder.start()
        try:
            assert started.wait(10)
            answer = http.get(f"/v1/cases/{number}/items", headers={"X-Case-Pin": WRONG})
            assert answer.status_code == 503 and int(answer.headers["Retry-After"]) >= 1
        finally:
            release.set()
            holder.join()
        monkeypatch.setattr(credentials, "_scrypt", real)
        assert http.get(f"/v1/cases/{number}/items", headers={"X-Case-Pin": pin}).is_success
