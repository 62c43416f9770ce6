"""A structured request log shared by the registry and the matcher: one JSON line per HTTP request
on the `stopframe.requests` logger, with nothing that identifies a case, a key or a recording.

A line holds the time, the method, the route template (`/v1/cases/{number}/items`, never the
path, which carries case numbers), the status, the duration, the bytes sent and a request id,
also returned in `X-Request-ID` so an operator can find the line a caller asks about. Query
strings, headers (PINs, bearer keys), bodies (hashes) and client addresses are never read.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = "stopframe.requests"
REQUEST_ID = b"x-request-id"
# Methods logged by name; anything else a client invents is logged as OTHER.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

log = logging.getLogger(LOGGER)


def route_template(scope: Scope) -> str | None:
    """The template of the route that answered (its parameters unfilled), or None when none
    did (an unknown path, or a request refused before routing)."""
    route = scope.get("route")
    if isinstance(route, Mount):  # a mounted app that matched none of its own routes
        return f"{route.path_format}/{{path}}"
    # FastAPI keeps an included router's route unprefixed and the full template beside it.
    context = scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(route, "path_format", None)
    return template if isinstance(template, str) else None


class RequestLog:
    """ASGI middleware writing one JSON line per HTTP request (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        at = datetime.now(UTC)
        request_id = uuid.uuid4().hex
        answer = {"status": 500, "bytes": 0}

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != REQUEST_ID]
                message = {**message, "headers": [*headers, (REQUEST_ID, request_id.encode())]}
            elif message["type"] == "http.response.body":
                answer["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            method = scope.get("method", "")
            line = {
                "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "id": request_id,
                "method": method if method in METHODS else "OTHER",
                "route": route_template(scope),
                "status": answer["status"],
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "bytes": answer["bytes"],
            }
            log.info(json.dumps(line, separators=(",", ":")))


def install(app: FastAPI) -> None:
    """Log `app`'s requests (outermost, so refusals of the other middleware are logged too); the
    lines go to stderr unless the logger was given a handler of its own."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    app.add_middleware(RequestLog)
