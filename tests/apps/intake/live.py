"""A real registry on loopback for the page's end-to-end tests: uvicorn in a thread, SQLite in a
temporary folder, the intake page mounted as its front, a low proof-of-work difficulty."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.loopback import serving

from stopframe.apps.intake.site import page_app
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.state import open_registry
from stopframe.config import RegistrySettings

POW_BITS = 6


def registry_settings(data_dir: Path, **overrides: object) -> RegistrySettings:
    """Registry settings for page tests: cheap PINs, low proof of work, generous limits."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": f"sqlite:///{data_dir / 'registry.sqlite'}",
        "pin_scrypt_n": 1024,
        "case_rate": 10_000.0,
        "case_burst": 10_000,
        "intake_pow_bits": POW_BITS,
        "intake_cases_per_hour": 1000,
    }
    values.update(overrides)
    return RegistrySettings(**values)


@contextmanager
def live_registry(data_dir: Path, **overrides: object) -> Iterator[str]:
    """A migrated registry serving the page at / (the API under /v1); yields the base URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    registry = open_registry(registry_settings(data_dir, **overrides))
    try:
        with serving(create_app(registry=registry, front=page_app())) as url:
            yield url
    finally:
        registry.db.dispose()
