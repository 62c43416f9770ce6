"""ASGI middleware run before routing: body size limit and content-type checks.

The registry takes hashes, never media: bodies are capped (imports have their own, larger cap)
and only JSON (or, for imports, the partner text formats) is accepted; image, video and binary
uploads are refused with 415 before any byte reaches a route.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stopframe.apps.problems import PROBLEM_JSON

IMPORT_TYPES = ("text/csv", "text/plain", "application/json", "application/xml", "text/xml")
JSON_TYPES = ("application/json",)


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
    """Refuse bodies over the limit (413) and content types the route does not take (415)."""

    def __init__(self, app: ASGIApp, max_body: int, max_import: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_import = max_import

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        is_import = scope["path"].endswith("/import")
        limit = self.max_import if is_import else self.max_body
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
        chunks: list[bytes] = []
        received = 0
        while True:  # read the whole (bounded) body first, so a streamed body is capped too
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                await _send_problem(
                    send, 413, "Content Too Large", f"request body over the {limit}-byte limit"
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
