"""Registry fixtures: every registry test runs on SQLite and, when STOPFRAME_TEST_POSTGRES_URL is
set, on PostgreSQL too, each test in a fresh database (a new SQLite file, or a new PostgreSQL
schema, so xdist workers never share state)."""

from __future__ import annotations

import hashlib
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.db import Database
from stopframe.apps.registry.services import banks, entries, keys
from stopframe.apps.registry.state import Registry, open_registry
from stopframe.apps.registry.terms import Scope
from stopframe.config import RegistrySettings as Settings
from stopframe.signals import Signal

POSTGRES_URL = os.environ.get("STOPFRAME_TEST_POSTGRES_URL")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="STOPFRAME_TEST_POSTGRES_URL not set"),
        ],
    ),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of the parametrised kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.sqlite'}"
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"t_{worker}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def settings_for_tests(data_dir: Path, database_url: str, **overrides: object) -> Settings:
    """Settings for tests: cheap PIN hashing and limits high enough not to get in the way."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "pin_scrypt_n": 1024,
        "key_rate": 10_000.0,
        "key_burst": 10_000,
        "case_rate": 10_000.0,
        "case_burst": 10_000,
        "intake_pow_bits": 4,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def registry(database_url: str, tmp_path: Path) -> Iterator[Registry]:
    """An opened, migrated registry."""
    reg = open_registry(settings_for_tests(tmp_path / "data", database_url))
    yield reg
    reg.db.dispose()


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    """An in-process HTTP client of the registry app."""
    with TestClient(create_app(registry=registry), raise_server_exceptions=False) as http:
        yield http


def make_key(registry: Registry, *scopes: Scope) -> str:
    """Create an API key with `scopes` directly in the database; return the secret."""
    with registry.db.write() as session:
        return keys.create_key(session, "test", list(scopes), "test").key


@pytest.fixture
def headers(registry: Registry) -> dict[str, dict[str, str]]:
    """Authorization headers of one fresh key per scope, by scope name."""
    return {
        scope.value: {"Authorization": f"Bearer {make_key(registry, scope)}"} for scope in Scope
    }


@pytest.fixture
def new_case(client: TestClient, headers: dict[str, dict[str, str]]):  # type: ignore[no-untyped-def]
    """Factory: open a case and return (case number, headers that act for it)."""

    def factory() -> tuple[str, dict[str, str]]:
        created = client.post("/v1/cases", headers=headers["submit"])
        assert created.status_code == 201, created.text
        body = created.json()
        return body["case_number"], {**headers["submit"], "X-Case-PIN": body["pin"]}

    return factory


@pytest.fixture
def pinned(registry: Registry) -> dict[str, str]:
    """The registry's published list-signing keys, as a consumer pins them."""
    return {k["key_id"]: k["public_key"] for k in registry.keyring.published()}


@pytest.fixture
def add_entries(registry: Registry) -> Callable[..., list[int]]:
    """Factory: add `count` new, distinct sha256 entries to the case bank through the services
    (on `db`, by default the registry's own) and return their ids."""
    numbers = itertools.count()

    def factory(count: int, db: Database | None = None) -> list[int]:
        values = [
            hashlib.sha256(f"benign-{next(numbers)}".encode()).hexdigest() for _ in range(count)
        ]
        with (db or registry.db).write() as session:
            bank = banks.case_bank(session, registry.settings.case_bank, "test")
            ids, _ = entries.add_signals(
                session, bank, "import", None, [Signal("sha256", v) for v in values]
            )
        return ids

    return factory
