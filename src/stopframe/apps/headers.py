"""Response headers every answer of an app must carry (security policies), set by one ASGI
middleware shared by the apps: the registry adds its API policy where an answer has none, the
intake page enforces its own and drops cookies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ResponseHeaders:
    """Set `headers` on each HTTP response: with `replace`, over whatever the app below set;
    otherwise only where the response lacks them. Headers named in `drop` are removed."""

    def __init__(
        self,
        app: ASGIApp,
        headers: Mapping[str, str],
        *,
        replace: bool = False,
        drop: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        removed = {name.lower().encode() for name in drop}
        if replace:
            removed |= {name for name, _ in self.headers}
        self.removed = removed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in self.removed
                ]
                present = {name.lower() for name, _ in kept}
                kept += [(name, value) for name, value in self.headers if name not in present]
                message = {**message, "headers": kept}
            await send(message)

        await self.app(scope, receive, send_with_headers)
