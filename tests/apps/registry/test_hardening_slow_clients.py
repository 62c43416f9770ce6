"""A client that sends its body slowly cannot hold a request open: on a served registry (uvicorn
on loopback, a raw socket as the client) a body that stalls longer than `body_idle_s`, or
trickles in past `body_deadline_s`, is answered 408 and the connection closed; a body sent
promptly is served as before. (Slow headers are uvicorn's to bound, not the registry's.)"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.apps.registry.conftest import make_key, settings_for_tests
from tests.loopback import serving

from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.state import open_registry
from stopframe.apps.registry.terms import Scope

IDLE_S = 0.6
DEADLINE_S = 2.0
BODY = json.dumps({"name": "slow", "kinds": ["md5"]}).encode()


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[tuple[str, int], str]]:
    """A registry with short body timeouts served on loopback: its address and an admin key."""
    settings = settings_for_tests(
        tmp_path / "data", database_url, body_idle_s=IDLE_S, body_deadline_s=DEADLINE_S
    )
    reg = open_registry(settings)
    try:
        key = make_key(reg, Scope.ADMIN)
        with serving(create_app(registry=reg)) as url:
            parts = urlsplit(url)
            yield (parts.hostname or "", parts.port or 0), key
    finally:
        reg.db.dispose()


def request_head(key: str, length: int) -> bytes:
    """The head of a bank-creating POST whose body is `length` bytes."""
    return (
        f"POST /v1/banks HTTP/1.1\r\nHost: registry\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def answer(sock: socket.socket) -> tuple[int, bytes, bool]:
    """The status and body of the answer, and whether the server then closed the connection."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
                 .split(b":")[1])  # fmt: skip
    while len(body) < length:
        body += sock.recv(65536)
    try:
        closed = sock.recv(1) == b""
    except ConnectionResetError:
        closed = True
    return int(head.split()[1]), body, closed


def test_a_stalled_body_is_answered_408_after_the_idle_time(served) -> None:  # type: ignore[no-untyped-def]
    address, key = served
    with socket.create_connection(address, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(request_head(key, len(BODY)) + BODY[:5])  # then nothing more
        status, body, closed = answer(sock)
        took = time.monotonic() - started
    assert status == 408, body
    assert "no request body data" in json.loads(body)["detail"]
    assert IDLE_S <= took < DEADLINE_S, took
    assert closed


def test_a_trickled_body_is_answered_408_at_the_deadline(served) -> None:  # type: ignore[no-untyped-def]
    address, key = served
    with socket.create_connection(address, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(request_head(key, len(BODY)))
        sock.settimeout(IDLE_S / 3)
        status = 0
        for byte in BODY:  # a byte well within the idle time, never the whole in time
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except TimeoutError:
                continue
        sock.settimeout(10)
        status, body, closed = answer(sock)
        took = time.monotonic() - started
    assert status == 408, body
    assert "within" in json.loads(body)["detail"]
    assert DEADLINE_S <= took < DEADLINE_S + IDLE_S + 1, took
    assert closed


def test_a_body_sent_promptly_is_served(served) -> None:  # type: ignore[no-untyped-def]
    address, key = served
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(request_head(key, len(BODY)) + BODY)
        status, body, _ = answer(sock)
    assert status == 201, body
