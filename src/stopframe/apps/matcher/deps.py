"""What routes share: the service of this process and the API-key check by scope."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from stopframe.apps.matcher.keys import KeyInfo, authorize
from stopframe.apps.matcher.service import MatchService

SCOPE_MATCH = "match"
SCOPE_ADMIN = "admin"


def service(request: Request) -> MatchService:
    """The process's match service."""
    found: MatchService = request.app.state.service
    return found


def require(scope: str) -> Callable[[Request], KeyInfo]:
    """A dependency admitting a bearer key that holds `scope` (401 or 403 otherwise)."""

    def check(request: Request) -> KeyInfo:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else None
        return authorize(service(request).state, token, scope)

    return check
