"""Imports are spooled to a file as they arrive: while a large upload is taken, the registry holds
at most the in-memory spool of it, whether the import then succeeds or is over its cap (413)."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Message
from tests.apps.registry.conftest import make_key, settings_for_tests

from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.guards import SPOOL_MEMORY
from stopframe.apps.registry.services import banks
from stopframe.apps.registry.state import Registry, open_registry
from stopframe.apps.registry.terms import Scope

MAX_IMPORT = 6 << 20
LINE = 72  # bytes of one "sha256,<64 hex>\n" record
HEADER = b"signal_type,signal\n"


@pytest.fixture
def importer(database_url: str, tmp_path: Path) -> Iterator[Registry]:
    """A registry taking imports up to `MAX_IMPORT` bytes, with a bank to import into."""
    reg = open_registry(
        settings_for_tests(tmp_path / "data", database_url, max_import_bytes=MAX_IMPORT)
    )
    with reg.db.write() as session:
        banks.create_bank(session, "partner", ["sha256"], "test")
    yield reg
    reg.db.dispose()


def csv_chunks(records: int, per_chunk: int = 900) -> list[bytes]:
    """A benign threatexchange CSV of `records` sha256 entries, in chunks of `per_chunk` lines."""
    chunks = [HEADER]
    for start in range(0, records, per_chunk):
        lines = (
            f"sha256,{hashlib.sha256(f'stream-{i}'.encode()).hexdigest()}\n"
            for i in range(start, min(records, start + per_chunk))
        )
        chunks.append("".join(lines).encode())
    return chunks


async def upload(app: ASGIApp, registry: Registry, chunks: list[bytes]) -> tuple[int, bytes, int]:
    """POST `chunks` chunked to the import route; (status, body, the most bytes held in memory
    while the body was taken, above what was held before the request)."""
    secret = make_key(registry, Scope.ADMIN)
    sent = 0
    held = 0
    status = 0
    parts: list[bytes] = []
    done = asyncio.Event()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]

    async def receive() -> Message:
        nonlocal sent, held
        if sent == len(chunks):
            await done.wait()
            return {"type": "http.disconnect"}
        if tracemalloc.is_tracing():
            held = max(held, tracemalloc.get_traced_memory()[0] - before)
        if sent == len(chunks) - 1:
            tracemalloc.stop()  # the import's own work is not measured (and runs at full speed)
        sent += 1
        fresh = bytes(memoryview(chunks[sent - 1]))  # a new buffer, as a server's read gives
        return {"type": "http.request", "body": fresh, "more_body": sent < len(chunks)}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    path = "/v1/banks/partner/import"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"format=threatexchange-csv",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {secret}".encode()),
            (b"content-type", b"text/csv"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8750),
    }
    try:
        await app(scope, receive, send)
    finally:
        tracemalloc.stop()
    return status, b"".join(parts), held


def measured(registry: Registry, chunks: list[bytes]) -> tuple[int, bytes, int]:
    """`upload` after an empty import, so the first request's one-time setup is not counted."""
    app = create_app(registry=registry)
    assert asyncio.run(upload(app, registry, [HEADER]))[0] == 200
    return asyncio.run(upload(app, registry, chunks))


def test_an_import_larger_than_the_spool_is_taken_from_a_file(importer: Registry) -> None:
    chunks = csv_chunks(50_000)
    size = sum(map(len, chunks))
    assert 3 * SPOOL_MEMORY < size < MAX_IMPORT
    status, body, held = measured(importer, chunks)
    assert status == 200, body
    assert b'"added":50000' in body
    assert held < 2 * SPOOL_MEMORY  # not the 3.4 MiB taken so far


def test_an_import_over_its_cap_is_413_without_holding_it(importer: Registry) -> None:
    chunks = csv_chunks(MAX_IMPORT // LINE + 20_000)
    assert sum(map(len, chunks)) > MAX_IMPORT
    status, body, held = measured(importer, chunks)
    assert status == 413, body
    assert held < 2 * SPOOL_MEMORY  # not the 6 MiB taken before the cap stopped it
