"""Request authentication: API keys with scopes (Bearer), case number + PIN, and rate limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from stopframe.apps.registry.models import ApiKey
from stopframe.apps.registry.problems import Problem
from stopframe.apps.registry.schemas import Scope
from stopframe.apps.registry.services import keys
from stopframe.apps.registry.state import Registry

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer sfk_...`")


def registry(request: Request) -> Registry:
    """The registry of the running app."""
    return request.app.state.registry


@dataclass(frozen=True)
class Caller:
    """An authenticated API key (detached from its session)."""

    id: int
    key_id: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"key:{self.key_id}"


def require(scope: Scope) -> Callable[..., Caller]:
    """Dependency: a valid, unrevoked API key holding `scope` (admin holds every scope)."""

    def dependency(credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                   reg: Registry = Depends(registry)) -> Caller:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Problem(401, "an API key is required: Authorization: Bearer <key>",
                          {"WWW-Authenticate": "Bearer"})
        with reg.db.read() as session:
            row: ApiKey | None = keys.find_key(session, credentials.credentials)
            if row is None:
                raise Problem(401, "API key unknown or revoked", {"WWW-Authenticate": "Bearer"})
            caller = Caller(row.id, row.key_id, frozenset(row.scopes.split(",")))
        if scope.value not in caller.scopes and Scope.ADMIN.value not in caller.scopes:
            raise Problem(403, f"this API key lacks the {scope.value!r} scope")
        wait = reg.key_limits.take(caller.key_id)
        if wait:
            raise Problem(429, "rate limit for this API key reached",
                          {"Retry-After": str(max(1, round(wait)))})
        return caller

    dependency.__name__ = f"require_{scope.value}"
    return dependency


def case_pin(x_case_pin: str | None = Header(None, max_length=64,
                                              description="The case's PIN, as shown at creation")) -> str | None:
    """The case PIN header (checked against the stored hash by the route's service call)."""
    return x_case_pin


def limit_case(reg: Registry, number: str) -> None:
    """Spend one token of the case's bucket (also bounds PIN guessing); 429 when empty."""
    wait = reg.case_limits.take(number)
    if wait:
        raise Problem(429, "rate limit for this case reached",
                      {"Retry-After": str(max(1, round(wait)))})
