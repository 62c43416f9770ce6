"""Run the registry under uvicorn on the configured address (127.0.0.1 unless told otherwise)."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

from stopframe.apps.registry.app import create_app
from stopframe.config import RegistrySettings


def serve(settings: RegistrySettings, front: ASGIApp | None = None) -> None:
    """Open (and migrate) the registry, then serve HTTP until interrupted; `front` (e.g. the
    intake page) answers the paths the API does not."""
    app = create_app(settings, front=front)
    # No access log: request lines carry case numbers, which are nobody's business downstream.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
