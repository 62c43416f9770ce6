"""Request bodies are read only after routing and credentials: a keyless or unroutable upload is
answered without the app taking its body, only the admin import route takes a large one, and only
a few large uploads are read at once."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.types import ASGIApp, Message
from tests.apps.registry.conftest import make_key, settings_for_tests
from tests.loopback import serving

from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.guards import IMPORT_SLOTS
from stopframe.apps.registry.state import Registry, open_registry
from stopframe.apps.registry.terms import Scope

MAX_BODY = 4096
MAX_IMPORT = 256 * 1024
CHUNK = b"x" * 65536
BIG = [CHUNK] * 64  # 4 MiB offered, far over both limits


@pytest.fixture
def small(database_url: str, tmp_path: Path) -> Iterator[Registry]:
    """A registry with small body limits, so tests can cross them cheaply."""
    reg = open_registry(
        settings_for_tests(
            tmp_path / "data", database_url, max_body_bytes=MAX_BODY, max_import_bytes=MAX_IMPORT
        )
    )
    yield reg
    reg.db.dispose()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    consumed: int  # body bytes the app took from the client


async def send_request(
    app: ASGIApp,
    path: str,
    headers: dict[str, str],
    chunks: list[bytes],
    hold: asyncio.Event | None = None,
    query: str = "",
) -> Answer:
    """POST `chunks` to `app` as a client would, counting the body bytes the app reads; with
    `hold`, the upload stalls after its first chunk until `hold` is set."""
    consumed = 0
    sent = 0
    done = asyncio.Event()
    answer: dict[str, object] = {"body": b""}

    async def receive() -> Message:
        nonlocal consumed, sent
        if sent == len(chunks):
            await done.wait()
            return {"type": "http.disconnect"}
        if hold is not None and sent == 1:
            await hold.wait()
        chunk = chunks[sent]
        sent += 1
        consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": sent < len(chunks)}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer["body"] = bytes(answer["body"]) + message.get("body", b"")  # type: ignore[arg-type]
            if not message.get("more_body", False):
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8750),
    }
    await app(scope, receive, send)
    return Answer(
        int(answer["status"]),  # type: ignore[call-overload]
        answer["headers"],  # type: ignore[arg-type]
        bytes(answer["body"]),  # type: ignore[arg-type]
        consumed,
    )


CHUNKED_CSV = {"Content-Type": "text/csv", "Transfer-Encoding": "chunked"}
IMPORT = "/v1/banks/x/import"
QUERY = "format=threatexchange-csv"


def csv_body(count: int, salt: str = "") -> bytes:
    """A benign threatexchange CSV of `count` sha256 entries."""
    lines = [
        "sha256," + hashlib.sha256(f"benign-{salt}-{i}".encode()).hexdigest() for i in range(count)
    ]
    return ("signal_type,signal\n" + "\n".join(lines) + "\n").encode()


def test_keyless_import_is_refused_before_its_body_is_read(small: Registry) -> None:
    app = create_app(registry=small)
    answer = asyncio.run(send_request(app, IMPORT, CHUNKED_CSV, BIG, query=QUERY))
    assert answer.status == 401, answer.body
    assert answer.consumed == 0
    wrong = {**CHUNKED_CSV, "Authorization": "Bearer sfk_not_a_key"}
    answer = asyncio.run(send_request(app, IMPORT, wrong, BIG, query=QUERY))
    assert answer.status == 401 and answer.consumed == 0


def test_a_key_without_admin_gets_403_before_the_body_is_read(small: Registry) -> None:
    app = create_app(registry=small)
    key = make_key(small, Scope.SUBMIT, Scope.READ)
    answer = asyncio.run(
        send_request(
            app, IMPORT, {**CHUNKED_CSV, "Authorization": f"Bearer {key}"}, BIG, query=QUERY
        )
    )
    assert answer.status == 403, answer.body
    assert answer.consumed == 0


def test_unknown_import_paths_get_the_normal_limit_and_no_body_read(small: Registry) -> None:
    app = create_app(registry=small)
    json_chunked = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    missing = asyncio.run(send_request(app, "/v1/nope/import", json_chunked, BIG))
    assert missing.status == 404 and missing.consumed == 0
    # Only the real import route takes partner files, and only it takes more than max_body
    csv = asyncio.run(send_request(app, "/v1/nope/import", CHUNKED_CSV, BIG))
    assert csv.status == 415 and csv.consumed == 0
    declared = {"Content-Type": "text/csv", "Content-Length": str(MAX_BODY + 1)}
    for path in ("/v1/nope/import", "/v1/banks/x/y/import", "/v1/cases/import"):
        over = asyncio.run(send_request(app, path, declared, [b"x" * (MAX_BODY + 1)]))
        assert over.status == 413 and over.consumed == 0, path
    # A JSON route reading a streamed body stops one chunk past max_body
    key = make_key(small, Scope.ADMIN)
    streamed = asyncio.run(
        send_request(app, "/v1/banks", {**json_chunked, "Authorization": f"Bearer {key}"}, BIG)
    )
    assert streamed.status == 413 and streamed.consumed <= MAX_BODY + len(CHUNK)


def test_admin_import_takes_a_large_body_and_stops_at_its_own_limit(small: Registry) -> None:
    app = create_app(registry=small)
    auth = {"Authorization": f"Bearer {make_key(small, Scope.ADMIN)}"}
    created = asyncio.run(
        send_request(
            app,
            "/v1/banks",
            {**auth, "Content-Type": "application/json"},
            [b'{"name": "x", "kinds": ["sha256"]}'],
        )
    )
    assert created.status == 201, created.body
    body = csv_body(300)
    assert MAX_BODY < len(body) < MAX_IMPORT
    parts = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    imported = asyncio.run(send_request(app, IMPORT, {**auth, **CHUNKED_CSV}, parts, query=QUERY))
    assert imported.status == 200, imported.body
    assert b'"added":300' in imported.body and imported.consumed == len(body)
    over = asyncio.run(send_request(app, IMPORT, {**auth, **CHUNKED_CSV}, BIG, query=QUERY))
    assert over.status == 413 and over.consumed <= MAX_IMPORT + len(CHUNK)


def test_only_a_few_imports_are_read_at_once(small: Registry) -> None:
    app = create_app(registry=small)
    auth = {"Authorization": f"Bearer {make_key(small, Scope.ADMIN)}"}

    async def scenario() -> tuple[list[Answer], Answer, Answer]:
        created = await send_request(
            app,
            "/v1/banks",
            {**auth, "Content-Type": "application/json"},
            [b'{"name": "x", "kinds": ["sha256"]}'],
        )
        assert created.status == 201
        hold = asyncio.Event()
        stalled = []
        for n in range(IMPORT_SLOTS):
            body = csv_body(50, f"slow-{n}")
            parts = [body[:100], body[100:]]
            stalled.append(
                asyncio.ensure_future(
                    send_request(app, IMPORT, {**auth, **CHUNKED_CSV}, parts, hold, QUERY)
                )
            )
        await asyncio.sleep(0.5)  # let every stalled upload take its slot
        busy = await asyncio.wait_for(
            send_request(app, IMPORT, {**auth, **CHUNKED_CSV}, [csv_body(5, "busy")], None, QUERY),
            timeout=10,
        )
        hold.set()
        finished = list(await asyncio.gather(*stalled))
        after = await send_request(
            app, IMPORT, {**auth, **CHUNKED_CSV}, [csv_body(5, "after")], None, QUERY
        )
        return finished, busy, after

    finished, busy, after = asyncio.run(scenario())
    assert busy.status == 503, busy.body
    assert busy.headers["retry-after"].isdigit() and busy.consumed == 0
    assert [a.status for a in finished] == [200] * IMPORT_SLOTS
    assert after.status == 200, after.body  # the slots were given back


def test_a_served_keyless_import_is_answered_before_its_body_is_sent(registry: Registry) -> None:
    """Over a real socket: headers declaring a body within the default import limit, and no
    body; the 401 must come back without the server waiting for (or buffering) the body."""
    with serving(create_app(registry=registry)) as base:
        url = urlsplit(base)
        with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
            sock.sendall(
                b"POST /v1/banks/x/import?format=threatexchange-csv HTTP/1.1\r\n"
                b"Host: 127.0.0.1\r\nContent-Type: text/csv\r\n"
                + f"Content-Length: {60 << 20}\r\n\r\n".encode()
            )
            first = sock.recv(4096)  # times out (fails) if the server waits for the body
    assert first.startswith(b"HTTP/1.1 401"), first[:200]
