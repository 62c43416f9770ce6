"""The page on a local machine (`stopframe intake --registry URL`): serves the page and forwards
only the page's own API routes to the registry, so the page stays same-origin and nothing else
of the registry is reachable through it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from stopframe.apps.intake.site import DEFAULT_EXIT_URL, page_app, with_page_headers
from stopframe.apps.problems import problem_response

MAX_BODY_BYTES = 4 << 20  # as the registry allows for adding hashes (a vPDQ of 4 h is ~1.3 MB)
MAX_RESPONSE_BYTES = 4 << 20
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
FORWARDED_REQUEST_HEADERS = ("content-type", "accept", "x-case-pin", "authorization")
FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "retry-after",
    "www-authenticate",
    "cache-control",  # a PIN is answered no-store, and must stay so on the way to the page
    "pragma",
)
CASE_NUMBER = re.compile(r"[A-Za-z0-9-]{1,64}")


class TooLargeBody(Exception):
    """The request body is over the proxy's limit."""


def _no_cookies() -> CookieJar:
    """A cookie jar that accepts none, so the proxy never keeps or replays a registry cookie."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


async def _body(request: Request) -> bytes:
    """The request body, refused beyond MAX_BODY_BYTES without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise TooLargeBody
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise TooLargeBody
        chunks.append(chunk)
    return b"".join(chunks)


def _forwarder(
    client: Callable[[], httpx.AsyncClient],
) -> Callable[[Request], Awaitable[Response]]:
    async def forward(request: Request) -> Response:
        case_number = request.path_params.get("case_number")
        if case_number is not None and not CASE_NUMBER.fullmatch(case_number):
            return problem_response(404, "no such case")
        item_id = request.path_params.get("item_id")
        if item_id is not None and not item_id.isdigit():
            return problem_response(404, "no such item")
        try:
            body = await _body(request)
        except TooLargeBody:
            return problem_response(413, f"request body over {MAX_BODY_BYTES} bytes")
        headers = {
            name: request.headers[name]
            for name in FORWARDED_REQUEST_HEADERS
            if name in request.headers
        }
        try:
            async with client().stream(
                request.method, request.url.path, content=body or None, headers=headers
            ) as answer:
                content = bytearray()
                async for chunk in answer.aiter_bytes():
                    content += chunk
                    if len(content) > MAX_RESPONSE_BYTES:
                        return problem_response(502, "the registry's answer was too large")
        except httpx.HTTPError as exc:
            return problem_response(
                502, f"the registry could not be reached ({type(exc).__name__}); try again later"
            )
        kept = {
            name: answer.headers[name]
            for name in FORWARDED_RESPONSE_HEADERS
            if name in answer.headers
        }
        return Response(bytes(content), status_code=answer.status_code, headers=kept)

    return forward


def proxy_app(registry_url: str, exit_url: str = DEFAULT_EXIT_URL) -> ASGIApp:
    """The local page server: the page at `/`, and the page's API routes forwarded to
    `registry_url`; every other path under /v1 is refused."""
    base = registry_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"registry URL must start with http:// or https://: {registry_url!r}")
    holder: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            base_url=base, timeout=TIMEOUT, cookies=_no_cookies(), follow_redirects=False
        ) as client:
            holder["client"] = client
            yield

    forward = _forwarder(lambda: holder["client"])

    async def refuse(_request: Request) -> Response:
        return problem_response(404, "this local page server forwards only the page's own routes")

    async def http_error(_request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return problem_response(status, str(getattr(exc, "detail", "internal error")))

    items = "/v1/cases/{case_number}/items"
    app = Starlette(
        routes=[
            Route("/v1/intake/challenge", forward, methods=["GET"]),
            Route("/v1/intake/cases", forward, methods=["POST"]),
            Route(items, forward, methods=["GET", "POST"]),
            Route(items + "/{item_id}", forward, methods=["DELETE"]),
            Route(
                "/v1/{rest:path}", refuse, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
            ),
            Mount("/", page_app(exit_url=exit_url)),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    return with_page_headers(app)
