"""The matcher's FastAPI application: match routes under /v1, health and metrics at the root,
problem+json errors, and a thread that switches to each new index generation within
`REFRESH_S` of its publication."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from stopframe.apps import problems, request_log
from stopframe.apps.matcher.routes import admin, health, match
from stopframe.apps.matcher.service import MatchService
from stopframe.config import MatcherSettings, load_settings

API_PREFIX = "/v1"
REFRESH_S = 0.2


def _follow(svc: MatchService, stop: threading.Event) -> None:
    while not stop.wait(REFRESH_S):
        svc.index_set.refresh()


def create_app(
    settings: MatcherSettings | None = None, service: MatchService | None = None
) -> FastAPI:
    """Build the app around a match service (made from settings, or the environment)."""
    svc = service or MatchService(settings or load_settings().matcher)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        follower = threading.Thread(target=_follow, args=(svc, stop), daemon=True)
        follower.start()
        try:
            yield
        finally:
            stop.set()
            follower.join(timeout=2)

    app = FastAPI(
        title="stopframe matcher",
        version="1",
        description="Match uploads against signed hash lists: hashes or media in, matches and a "
        "decision out. Media is hashed in memory and never stored.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs" if svc.settings.matcher_docs_ui else None,  # CDN scripts
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = svc
    problems.install(app)
    app.include_router(health.router)
    app.include_router(match.router, prefix=API_PREFIX)
    app.include_router(admin.router, prefix=API_PREFIX)
    request_log.install(app)
    return app


def create_app_from_env() -> FastAPI:
    """The app for each worker process of `stopframe matcher serve` (settings from STOPFRAME_*)."""
    return create_app()
