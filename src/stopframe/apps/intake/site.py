"""The victim's page as an ASGI app: index.html at `/`, its files under `/static/`, every answer
with strict security headers (no inline code, no third party, no cookies, no framing)."""

from __future__ import annotations

import html
from pathlib import Path, PurePosixPath

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from stopframe.apps.headers import ResponseHeaders

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_EXIT_URL = "/static/leave.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "media-src 'self' blob:",
        "worker-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "x-frame-options": "DENY",
}
_API_META = '<meta name="stopframe-api" content="/v1">'
_EXIT_META = f'<meta name="stopframe-exit" content="{DEFAULT_EXIT_URL}">'


def with_page_headers(app: ASGIApp) -> ASGIApp:
    """`app` with the page's security headers on every response, over any set below, and no
    cookie ever set."""
    return ResponseHeaders(app, SECURITY_HEADERS, replace=True, drop=("set-cookie",))


def _checked_exit_url(exit_url: str) -> str:
    """The quick-exit target: a same-origin path or an http(s) address, nothing else."""
    if exit_url.startswith("/") and not exit_url.startswith("//"):
        return exit_url
    if exit_url.startswith(("https://", "http://")):
        return exit_url
    raise ValueError(f"exit URL must be a path starting with / or an http(s) address: {exit_url!r}")


def render_index(api_base: str, exit_url: str) -> str:
    """index.html with the API base and the quick-exit target filled in for this host."""
    text = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    api = f'<meta name="stopframe-api" content="{html.escape(api_base, quote=True)}">'
    leave = f'<meta name="stopframe-exit" content="{html.escape(exit_url, quote=True)}">'
    return text.replace(_API_META, api).replace(_EXIT_META, leave)


def static_file(relative: str) -> Path | None:
    """The file under the static folder that `relative` names, or None: no hidden parts, no
    climbing out, no links leading elsewhere, only the known file types."""
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("", ".", "..") or p.startswith(".") or "\\" in p for p in parts):
        return None
    candidate = STATIC_DIR.joinpath(*parts)
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(STATIC_DIR) or not resolved.is_file():
        return None
    return resolved if resolved.suffix in CONTENT_TYPES else None


def page_app(api_base: str = "/v1", exit_url: str = DEFAULT_EXIT_URL) -> ASGIApp:
    """The page's ASGI app: `api_base` is where the page sends its requests, `exit_url` where
    the quick-exit button leaves to (default a blank page of this site, so nothing else is
    contacted)."""
    index = render_index(api_base, _checked_exit_url(exit_url))

    async def home(_request: Request) -> Response:
        return HTMLResponse(index, headers={"cache-control": "no-store"})

    async def asset(request: Request) -> Response:
        found = static_file(request.path_params["path"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        cache = "no-store" if found.suffix == ".html" else "no-cache"
        return FileResponse(
            found, media_type=CONTENT_TYPES[found.suffix], headers={"cache-control": cache}
        )

    app = Starlette(
        routes=[
            Route("/", home, methods=["GET", "HEAD"]),
            Route("/static/{path:path}", asset, methods=["GET", "HEAD"]),
        ]
    )
    return with_page_headers(app)
