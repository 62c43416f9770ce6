"""The page's ASGI app: the page and its files, strict headers on every answer, nothing outside
the static folder, the host's API base and quick-exit target written into the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from stopframe.apps.intake import site
from stopframe.apps.intake.site import page_app


@pytest.fixture
def client() -> TestClient:
    return TestClient(page_app())


def test_index_is_served_with_strict_headers(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    csp = response.headers["content-security-policy"]
    for directive in (
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
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    permissions = response.headers["permissions-policy"]
    assert "camera=()" in permissions and "microphone=()" in permissions
    assert "geolocation=()" in permissions
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/js/main.js", "text/javascript"),
        ("/static/js/hash/index.js", "text/javascript"),
        ("/static/css/page.css", "text/css"),
        ("/static/i18n/ur.json", "application/json"),
        ("/static/leave.html", "text/html"),
    ],
)
def test_assets_have_their_type_and_the_headers(
    client: TestClient, path: str, content_type: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response.headers["content-type"].startswith(content_type)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/static/../site.py",
        "/static/%2e%2e/site.py",
        "/static/..%2fsite.py",
        "/static/js/../../site.py",
        "/static//etc/passwd",
        "/static/.hidden",
        "/static/js",
        "/static/",
        "/static/nothing.js",
        "/site.py",
        "/static/js%5c..%5c..%5csite.py",
    ],
)
def test_nothing_outside_the_static_folder_is_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404, path
    assert "from __future__" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


def test_static_file_refuses_links_out_of_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "static"
    (folder / "js").mkdir(parents=True)
    (folder / "js" / "page.js").write_text("ok", encoding="utf-8")
    (folder / "js" / "page.py").write_text("no", encoding="utf-8")
    (tmp_path / "secret.js").write_text("secret", encoding="utf-8")
    (folder / "js" / "out.js").symlink_to(tmp_path / "secret.js")
    monkeypatch.setattr(site, "STATIC_DIR", folder)
    assert site.static_file("js/out.js") is None
    assert site.static_file("js/page.js") == folder / "js" / "page.js"
    assert site.static_file("js/page.py") is None


def test_the_host_chooses_the_api_base_and_the_exit() -> None:
    client = TestClient(
        page_app(api_base="/api/v1", exit_url="https://example.org/weather?x=1&y=2")
    )
    text = client.get("/").text
    assert '<meta name="stopframe-api" content="/api/v1">' in text
    assert '<meta name="stopframe-exit" content="https://example.org/weather?x=1&amp;y=2">' in text


def test_the_default_exit_is_a_page_of_the_same_site(client: TestClient) -> None:
    text = client.get("/").text
    assert '<meta name="stopframe-exit" content="/static/leave.html">' in text
    assert client.get("/static/leave.html").status_code == 200


@pytest.mark.parametrize(
    "exit_url", ["javascript:alert(1)", "//evil.example/", "data:text/html,hi", "leave.html"]
)
def test_an_unsafe_exit_target_is_refused(exit_url: str) -> None:
    with pytest.raises(ValueError, match="exit URL"):
        page_app(exit_url=exit_url)


def test_only_reading_methods_are_answered(client: TestClient) -> None:
    assert client.post("/", content=b"x").status_code == 405
    assert client.head("/").status_code == 200
