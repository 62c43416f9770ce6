"""HTTP routes of the matcher, one module per concern; each parses, calls the service, formats."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from stopframe.apps.matcher import metrics
from stopframe.errors import ServiceError


class CountedRoute(APIRoute):
    """A route whose refusals (a missing key, a bad body, an upload too large...) are counted
    by status in `stopframe_matcher_refused_total` before problem+json answers them."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def counted(request: Request) -> Response:
            try:
                return await handler(request)
            except ServiceError as exc:
                metrics.REFUSED.labels(str(exc.status)).inc()
                raise
            except RequestValidationError:  # a query parameter out of range
                metrics.REFUSED.labels("422").inc()
                raise

        return counted
