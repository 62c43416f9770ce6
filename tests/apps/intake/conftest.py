"""Browser fixtures for the intake page: Debian's Chromium driven by Playwright, a plain static
server for the page's files, and axe-core for accessibility scans. Each skips with its reason
where the tool is absent (`.ci/run` installs all three)."""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

STATIC_DIR = (
    Path(__file__).resolve().parents[3] / "src" / "stopframe" / "apps" / "intake" / "static"
)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_DEFAULT = (
    Path.home() / ".cache" / "stopframe" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
)


def chromium_path() -> str | None:
    """Debian's Chromium (STOPFRAME_CHROMIUM overrides), or None where there is none."""
    found = os.environ.get("STOPFRAME_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).is_file() else None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium browser, shared by one module's browser tests. Not longer: Playwright's
    synchronous API keeps an event loop running while it is open, and other tests of the same
    worker process call asyncio.run()."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium: install Debian's chromium package (or set STOPFRAME_CHROMIUM)")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass(frozen=True)
class StaticOrigin:
    """The page's static files served at `url`, with `media` (a temp folder) under /_media/."""

    url: str
    media: Path


class _Handler(SimpleHTTPRequestHandler):
    media: Path

    def translate_path(self, path: str) -> str:
        if path.startswith("/_media/"):
            return str(self.media / path.removeprefix("/_media/").split("?")[0])
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture()
def static_origin(tmp_path: Path) -> Iterator[StaticOrigin]:
    """A loopback HTTP origin serving the intake's static folder (test harness pages import its
    modules from there) and `tmp_path/media` under /_media/."""
    media = tmp_path / "media"
    media.mkdir()
    handler = type("Handler", (_Handler,), {"media": media})
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(STATIC_DIR))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StaticOrigin(f"http://127.0.0.1:{server.server_address[1]}", media)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (STOPFRAME_AXE_JS overrides the cache path `.ci/run` installs to)."""
    path = Path(os.environ.get("STOPFRAME_AXE_JS", AXE_DEFAULT))
    if not path.is_file():
        pytest.skip(
            f"axe-core not found at {path}: npm install --prefix ~/.cache/stopframe/axe axe-core@4"
        )
    return path.read_text(encoding="utf-8")
