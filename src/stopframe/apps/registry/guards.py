"""ASGI middleware run before routing: body size limits, content-type checks and upload slots.

The registry takes hashes, never media: bodies are capped (the admin import route has its own,
larger cap) and only JSON (or, for imports, the partner text formats) is accepted; image, video
and binary uploads are refused with 415 before any byte reaches a route. No body is read here:
the limit is counted as the route reads, so routing (404) and credentials (401, 403) are answered
before a single body byte is taken, and only an authorised import ever holds a large one.
A body sent slowly is cut off with 408 too: when its next chunk is longer in coming than the
registry's `body_idle_s`, or the whole takes longer than `body_deadline_s` (an import's:
`import_body_deadline_s`); uvicorn bounds the wait for headers, nothing else bounds this.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stopframe.apps.problems import PROBLEM_JSON
from stopframe.config import RegistrySettings

IMPORT_TYPES = ("text/csv", "text/plain", "application/json", "application/xml", "text/xml")
JSON_TYPES = ("application/json",)
# The one route that takes large bodies (banks.import_entries); any other path gets max_body
IMPORT_ROUTE = re.compile(r"/v1/banks/[a-z0-9][a-z0-9._-]{0,63}/import")
# The routes that add hash values to a case (one vPDQ of hours is over a megabyte): max_values
VALUES_ROUTE = re.compile(r"/v1/cases/[A-Za-z0-9-]{1,64}/(?:entries|items)")
IMPORT_SLOTS = 2  # large uploads read at once; more wait (503) so memory stays bounded
SLOTS_RETRY_AFTER = "5"  # seconds a refused upload is told to wait
SPOOL_MEMORY = 1 << 20  # bytes of an upload held in memory before it moves to a file


class BodyTooLarge(HTTPException):
    """The body read so far is over the route's limit (answered 413 by the app's handlers)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the {limit}-byte limit")


class UploadsBusy(HTTPException):
    """Every large-upload slot is taken (answered 503 with Retry-After)."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "too many imports are being uploaded; try again shortly",
            headers={"Retry-After": SLOTS_RETRY_AFTER},
        )


class BodyTooSlow(HTTPException):
    """The body stalled or is taking too long (answered 408; the connection is closed, as the
    rest of the body may still be on its way)."""

    def __init__(self, detail: str) -> None:
        super().__init__(408, detail, headers={"Connection": "close"})


async def _send_problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """Refuse declared bodies over the limit (413) and content types the route does not take
    (415) up front; cap the bytes a route reads, and the imports read at once, as it reads."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        max_import: int,
        import_slots: int = IMPORT_SLOTS,
        max_values: int | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_values = max_body if max_values is None else max_values
        self.max_import = max_import
        self.import_slots = import_slots
        self.uploading = 0  # imports holding a slot (one event loop: no lock needed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        is_import = IMPORT_ROUTE.fullmatch(scope["path"]) is not None
        limit = self.max_import if is_import else self.max_body
        if VALUES_ROUTE.fullmatch(scope["path"]):
            limit = self.max_values
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            await _send_problem(send, 400, "Bad Request", "Content-Length is not a number")
            return
        if length is not None and int(length) > limit:
            await _send_problem(
                send, 413, "Content Too Large", f"request body over the {limit}-byte limit"
            )
            return
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        allowed = IMPORT_TYPES if is_import else JSON_TYPES
        has_body = length not in (None, "0") or "transfer-encoding" in headers
        if has_body and ctype not in allowed:
            hint = (
                " (the registry never accepts media; hash it on your device)"
                if ctype.startswith(
                    ("image/", "video/", "audio/", "application/octet-stream", "multipart/")
                )
                else ""
            )
            await _send_problem(
                send,
                415,
                "Unsupported Media Type",
                f"content-type {ctype or 'missing'} not accepted here; "
                f"send one of {', '.join(allowed)}{hint}",
            )
            return
        received = 0
        holds_slot = False
        settings: RegistrySettings = scope["app"].state.registry.settings
        idle_s = settings.body_idle_s
        deadline_s = settings.import_body_deadline_s if is_import else settings.body_deadline_s
        clock = asyncio.get_running_loop().time
        started: float | None = None
        body_done = False  # later reads wait for a disconnect, which has no deadline

        async def capped() -> Message:
            # Called only once a route reads its body: after routing and its credentials
            nonlocal received, holds_slot, started, body_done
            if is_import and not holds_slot:
                if self.uploading >= self.import_slots:
                    raise UploadsBusy()
                self.uploading += 1
                holds_slot = True
            if body_done:
                return await receive()
            started = clock() if started is None else started
            left = started + deadline_s - clock()
            try:
                message = await asyncio.wait_for(receive(), min(idle_s, max(left, 0.0)))
            except TimeoutError:
                if left <= idle_s:
                    raise BodyTooSlow(
                        f"request body not received within {deadline_s:g} s"
                    ) from None
                raise BodyTooSlow(f"no request body data for {idle_s:g} s") from None
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        try:
            await self.app(scope, capped, send)
        finally:
            if holds_slot:
                self.uploading -= 1


async def spooled_body(request: Request, folder: Path) -> tempfile.SpooledTemporaryFile[bytes]:
    """The body in a temporary file, rewound: up to `SPOOL_MEMORY` in memory, then an unnamed
    0600 file in `folder`; taken chunk by chunk, so the cap stops an oversized body (413) while
    at most a chunk of it is in memory beyond the spool."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY, dir=str(folder))
    try:
        async for chunk in request.stream():
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool
