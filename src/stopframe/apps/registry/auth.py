"""Request authentication: API keys with scopes (Bearer), case number + PIN, and rate limits per
key, per case and per client address (wrong PINs also per key)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from stopframe.apps.registry.models import ApiKey, Case
from stopframe.apps.registry.proxies import TrustedProxies
from stopframe.apps.registry.ratelimit import refuse_if_empty, take_or_refuse
from stopframe.apps.registry.services import cases, keys
from stopframe.apps.registry.state import Registry
from stopframe.apps.registry.terms import Scope
from stopframe.errors import Forbidden, Unauthorized

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

    def dependency(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        reg: Registry = Depends(registry),
    ) -> Caller:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized(
                "an API key is required: Authorization: Bearer <key>", challenge="Bearer"
            )
        with reg.db.read() as session:
            row: ApiKey | None = keys.find_key(session, credentials.credentials)
            if row is None:
                raise Unauthorized("API key unknown or revoked", challenge="Bearer")
            caller = Caller(row.id, row.key_id, frozenset(row.scopes.split(",")))
        if scope.value not in caller.scopes and Scope.ADMIN.value not in caller.scopes:
            raise Forbidden(f"this API key lacks the {scope.value!r} scope")
        take_or_refuse(reg.key_limits, caller.key_id, "API key")
        return caller

    dependency.__name__ = f"require_{scope.value}"
    return dependency


def client_address(request: Request) -> str:
    """The client's address, the name of its per-address limits: the connection's, or what a
    trusted reverse proxy says in `X-Forwarded-For` (`STOPFRAME_TRUSTED_PROXIES`)."""
    peer = request.client.host if request.client else None
    proxies: TrustedProxies = registry(request).proxies
    return proxies.client(peer, request.headers.getlist("x-forwarded-for"))


def case_pin(
    x_case_pin: str | None = Header(
        None, max_length=64, description="The case's PIN, as shown at creation"
    ),
) -> str | None:
    """The case PIN header (checked against the stored hash by the route's service call)."""
    return x_case_pin


def limit_case(reg: Registry, number: str) -> None:
    """Spend one token of the case's own pace (after its PIN was accepted, so only the holder
    spends it); RateLimited when empty."""
    take_or_refuse(reg.case_limits, number, "case")


def case_for_pin(
    reg: Registry, number: str, pin: str | None, address: str, key_id: str | None = None
) -> Case:
    """The case acting, after its PIN check. Wrong PINs are limited per client address and per
    API key (when one came along): one that sent too many is refused before any check, and each
    wrong PIN spends one of its tokens. A right PIN from anyone else is still accepted, so a
    guesser cannot lock the holder out; the case's own pace is spent only once it is accepted.
    scrypt runs in the bounded PIN pool with no database session or write lock held."""
    refuse_if_empty(reg.pin_failure_limits, address, "address (too many wrong PINs)")
    if key_id is not None:
        refuse_if_empty(reg.pin_key_failure_limits, key_id, "API key (too many wrong PINs)")
    with reg.db.read() as session:
        found = cases.find_case(session, number)
    try:
        case = cases.check_case_pin(found, number, pin, reg.pins, reg.pin_cache)
    except Unauthorized:
        reg.pin_failure_limits.take(address)
        if key_id is not None:
            reg.pin_key_failure_limits.take(key_id)
        raise
    limit_case(reg, number)
    if not reg.pins.is_current(case.pin_hash):
        upgraded = reg.pins.hash(pin or "")  # before the write transaction, never inside it
        with reg.db.write() as session:
            cases.upgrade_pin_hash(session, case, upgraded)
    return case
