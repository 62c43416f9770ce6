"""Run the registry under uvicorn on the configured address (127.0.0.1 unless told otherwise)."""

from __future__ import annotations

from typing import Any

import uvicorn
from starlette.types import ASGIApp

from stopframe.apps.registry.app import create_app
from stopframe.config import RegistrySettings

KEEP_ALIVE_S = 5  # an idle kept-alive connection is closed after this long
MAX_INCOMPLETE_BYTES = 16 * 1024  # request line and headers larger than this are refused


def uvicorn_options(settings: RegistrySettings) -> dict[str, Any]:
    """uvicorn's keyword arguments for the registry: address, no access log or server header,
    and limits on idle connections and on the size of an unfinished request head."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        # No access log: request lines carry case numbers, which are nobody's business downstream.
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        # h11, not httptools: only h11 enforces a size limit on an unfinished request head.
        "http": "h11",
        "timeout_keep_alive": KEEP_ALIVE_S,
        "h11_max_incomplete_event_size": MAX_INCOMPLETE_BYTES,
    }


def serve(settings: RegistrySettings, front: ASGIApp | None = None) -> None:
    """Open (and migrate) the registry, then serve HTTP until interrupted; `front` (e.g. the
    intake page) answers the paths the API does not."""
    uvicorn.run(create_app(settings, front=front), **uvicorn_options(settings))
