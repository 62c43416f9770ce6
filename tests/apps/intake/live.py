"""A real registry on loopback for the page's end-to-end tests: uvicorn in a thread, SQLite in a
temporary folder, the intake page mounted as its front, a low proof-of-work difficulty."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from stopframe.apps.intake.site import page_app
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.state import open_registry
from stopframe.config import RegistrySettings

POW_BITS = 6


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve the ASGI `app` on 127.0.0.1 until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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
