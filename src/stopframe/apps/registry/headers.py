"""Security headers on every registry answer: JSON is never sniffed, framed, sent as a referrer or
allowed to load anything; a header the answer already has (the mounted page's own) is kept."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}
_ENCODED = [(name.encode(), value.encode()) for name, value in API_HEADERS.items()]


class ApiSecurityHeaders:
    """ASGI middleware adding `API_HEADERS` to each HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                missing = [(n, v) for n, v in _ENCODED if n not in present]
                if missing:
                    message = {**message, "headers": [*message.get("headers", []), *missing]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
