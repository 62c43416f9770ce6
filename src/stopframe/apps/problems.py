"""RFC 9457 problem details, shared by the services: every error is `application/problem+json`.

Services raise `stopframe.errors.ServiceError`s; this edge answers each with its `.status` and
detail. Extra fields become body members, except those `HEADERS` names, which become headers
(the challenge of a 401, the wait of a 429).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from stopframe.errors import ServiceError

PROBLEM_JSON = "application/problem+json"
HEADERS = {"challenge": "WWW-Authenticate", "retry_after": "Retry-After"}
log = logging.getLogger("stopframe.apps")


def problem_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """Build the problem+json response for `status`."""
    phrase = HTTPStatus(status).phrase
    body = {"type": "about:blank", "title": phrase, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def service_problem(exc: ServiceError) -> JSONResponse:
    """The problem+json answer to a service's refusal."""
    headers = {HEADERS[k]: str(v) for k, v in exc.extra.items() if k in HEADERS}
    extra = {k: v for k, v in exc.extra.items() if k not in HEADERS}
    return problem_response(exc.status, exc.detail, headers or None, **extra)


def _jsonable_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]


def install(app: FastAPI) -> None:
    """Register handlers so validation, HTTP and unexpected errors all come out as problems."""

    @app.exception_handler(ServiceError)
    async def _refused(_request: Request, exc: ServiceError) -> JSONResponse:
        return service_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _jsonable_errors(list(exc.errors()))
        where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem_response(422, f"request is not valid: {where}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(500, "internal error; nothing was changed")
