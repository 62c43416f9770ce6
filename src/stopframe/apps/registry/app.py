"""The FastAPI application: routers under /v1, problem+json errors, request guards, security
headers, and an optional front (such as the intake page) mounted at "/" behind the API."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from stopframe.apps import problems, request_log
from stopframe.apps.headers import ResponseHeaders
from stopframe.apps.registry.guards import RequestGuard
from stopframe.apps.registry.headers import API_HEADERS
from stopframe.apps.registry.routes import (
    api_keys,
    banks,
    cases,
    health,
    intake,
    items,
    lists,
    reports,
    signing_keys,
)
from stopframe.apps.registry.state import Registry, open_registry
from stopframe.config import RegistrySettings, load_settings

API_PREFIX = "/v1"


def create_app(
    settings: RegistrySettings | None = None,
    registry: Registry | None = None,
    front: ASGIApp | None = None,
) -> FastAPI:
    """Build the app around an opened registry (opening, and migrating, one from settings if
    needed); `front`, when given, answers every path the API does not (GET / included)."""
    registry = registry or open_registry(settings or load_settings().registry)
    app = FastAPI(
        title="stopframe registry",
        version="1",
        description="Hash lists of known abuse recordings: cases, banks, signed lists, reports, "
        "audit. Hashes only; the registry never accepts media.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs" if registry.settings.docs_ui else None,  # CDN scripts
        redoc_url=None,
    )
    app.state.registry = registry
    problems.install(app)
    for module in (health, cases, items, intake, banks, lists, signing_keys, reports, api_keys):
        app.include_router(module.router, prefix=API_PREFIX)
    if front is not None:
        app.mount("/", front, name="front")  # after the routes, so the API always wins
    app.add_middleware(
        RequestGuard,
        max_body=registry.settings.max_body_bytes,
        max_import=registry.settings.max_import_bytes,
        max_values=registry.settings.max_values_body_bytes,
    )
    # outermost, so the guard's refusals carry the headers too
    app.add_middleware(ResponseHeaders, headers=API_HEADERS)
    request_log.install(app)
    return app
