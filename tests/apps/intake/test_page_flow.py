"""The victim's page end to end in real Chromium against a real registry on loopback: choose,
hash, review, open a case, save, send, follow, withdraw, in English and in Urdu. Every request
the page makes is recorded: none leaves the origin and none carries any of the files' bytes.
Each step is scanned with axe-core and checked for text outside the catalogues."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.apps.intake.live import live_registry

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO / "src" / "stopframe" / "samples"
CHOSEN = [SAMPLES / "bridge.jpg", SAMPLES / "q0122.jpg", SAMPLES / "q0291.jpg"]
STATIC = REPO / "src" / "stopframe" / "apps" / "intake" / "static"
SCREENSHOTS_ENV = "STOPFRAME_SCREENSHOTS"  # set to docs/images to refresh the docs' pictures
HASHING_TIMEOUT_MS = 120_000
EXTENDED_DIGITS = "۰۱۲۳۴۵۶۷۸۹"

# Visible text nodes whose element (or an ancestor) is neither from a catalogue nor a literal
# value (case number, PIN, a file's own name, a date, a count).
LOOSE_TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!node.textContent.trim() || !parent || !parent.checkVisibility()) continue;
    if (parent.closest('[data-i18n], [data-literal], [data-count]')) continue;
    out.push(node.textContent.trim());
  }
  return out;
}"""

AXE_RUN_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
}"""

# Whether each blob URL still loads as a picture (img-src allows blob:, connect-src does not).
IMAGE_LOADS_JS = """(urls) => Promise.all(urls.map((url) => new Promise((done) => {
  const probe = new Image();
  probe.onload = () => done(true);
  probe.onerror = () => done(false);
  probe.src = url;
})))"""


def catalogue(code: str) -> dict[str, str]:
    return json.loads((STATIC / "i18n" / f"{code}.json").read_text(encoding="utf-8"))


@dataclass
class Recorder:
    """Every request a page made, and every console error (CSP refusals show up there)."""

    origin: str
    requests: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("request", lambda r: self.requests.append(r))
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message: Any) -> None:
        # the tests' own probes of revoked preview URLs fail on purpose
        if message.type == "error" and not message.location.get("url", "").startswith("blob:"):
            self.errors.append(message.text)

    def check(self, files: list[Path]) -> None:
        """No request left the origin; bodies are small JSON with no slice of any file."""
        assert self.errors == []
        for request in self.requests:
            url = urlsplit(request.url)
            assert url.scheme in ("http", "blob"), request.url
            if url.scheme == "http":
                assert f"{url.scheme}://{url.netloc}" == self.origin, request.url
        sent = [r.post_data_buffer for r in self.requests if r.post_data_buffer]
        assert sent, "the page sent nothing"
        for body in sent:
            assert len(body) < 64 * 1024
            parsed = json.loads(body)
            assert set(parsed) <= {"challenge", "nonce", "items"}
            for path in files:
                data = path.read_bytes()
                assert path.name.encode() not in body
                for start in range(0, len(data) - 32, max(1, len(data) // 64)):
                    window = data[start : start + 32]
                    assert window not in body and window.hex().encode() not in body


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_registry(tmp_path_factory.mktemp("registry")) as url:
        yield url


@pytest.fixture
def browser_page(chromium: Any, origin: str) -> Iterator[tuple[Any, Recorder]]:
    context = chromium.new_context(accept_downloads=True, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    recorder = Recorder(origin)
    recorder.attach(page)
    yield page, recorder
    context.close()


def open_page(page: Any, origin: str, lang: str) -> None:
    page.goto(f"{origin}/?lang={lang}")
    page.wait_for_selector("body[data-ready=true]")


def visible_step(page: Any, name: str) -> None:
    page.wait_for_selector(f"#step-{name}:not([hidden])", timeout=HASHING_TIMEOUT_MS)


def check_step(page: Any, axe_source: str, lang: str, name: str) -> None:
    """The step shows, its text is all from the catalogues, and axe finds nothing serious."""
    visible_step(page, name)
    assert page.evaluate(LOOSE_TEXT_JS) == []
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(axe_source)
    assert page.evaluate(AXE_RUN_JS) == [], f"{lang}: step {name}"


def check_direction(page: Any, lang: str) -> None:
    """The document's direction follows the language, and the layout mirrors with it."""
    expected = "rtl" if lang == "ur" else "ltr"
    assert page.evaluate("document.documentElement.dir") == expected
    assert page.evaluate("getComputedStyle(document.body).direction") == expected
    exit_box = page.locator("#quick-exit").bounding_box()
    brand_box = page.locator(".brand").bounding_box()
    width = page.viewport_size["width"]
    if lang == "ur":
        assert exit_box["x"] < width / 2 < brand_box["x"] + brand_box["width"]
    else:
        assert brand_box["x"] < width / 2 < exit_box["x"]


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_the_whole_flow(
    browser_page: tuple[Any, Recorder], origin: str, axe_source: str, lang: str, tmp_path: Path
) -> None:
    page, recorder = browser_page
    words = catalogue(lang)
    open_page(page, origin, lang)
    check_direction(page, lang)
    assert page.locator("#intro-title").inner_text() == words["intro.title"]
    check_step(page, axe_source, lang, "intro")

    page.click("#start")
    check_step(page, axe_source, lang, "choose")
    page.set_input_files("#files", [str(p) for p in CHOSEN])
    page.click("#hash-start")
    check_step(page, axe_source, lang, "review")
    assert page.locator("#review-list > li").count() == 3
    sources = page.eval_on_selector_all("#review-list img", "els => els.map(e => e.src)")
    assert len(sources) == 3 and all(s.startswith("blob:") for s in sources)
    assert page.evaluate(IMAGE_LOADS_JS, sources) == [True, True, True]
    page.locator("#review-list > li").nth(2).locator("button").click()
    assert page.locator("#review-list > li").count() == 2

    page.click("#review-next")
    check_step(page, axe_source, lang, "case")
    assert page.evaluate(IMAGE_LOADS_JS, sources) == [False, False, False]  # revoked on leaving
    page.click("#open-case")
    page.wait_for_selector("#case-credentials:not([hidden])", timeout=HASHING_TIMEOUT_MS)
    check_step(page, axe_source, lang, "case")
    number = page.locator("#case-number").inner_text()
    pin = page.locator("#case-pin").inner_text()
    assert number and pin
    with page.expect_download() as download:
        page.click("#download")
    saved = download.value.path().read_text(encoding="utf-8")
    assert number in saved and pin in saved
    assert page.locator("#case-next").is_disabled()
    page.check("#saved")
    page.click("#case-next")

    check_step(page, axe_source, lang, "send")
    assert page.locator("#case-pin").inner_text() == ""  # shown once only
    page.click("#send")
    check_step(page, axe_source, lang, "status")
    assert page.locator("#status-rows > tr").count() == 2
    assert page.locator("#sum-active").inner_text() == "2"

    page.locator("#status-rows > tr").nth(0).locator("button").click()
    page.locator("#status-rows .confirm button").nth(0).click()
    page.wait_for_selector("#status-rows > tr.withdrawn")
    assert page.locator("#sum-withdrawn").inner_text() == "1"
    assert page.locator("#sum-active").inner_text() == "1"
    assert page.locator("#status-live").inner_text() == words["status.withdrawn_n"].replace(
        "{n}", "1"
    )
    check_step(page, axe_source, lang, "status")
    if lang == "ur":
        page.check("#digits")
        assert page.locator("#sum-withdrawn").inner_text() == EXTENDED_DIGITS[1]
        assert "digits=native" in page.url
    shots = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"intake-{lang}.png"), full_page=True)
    recorder.check(CHOSEN)

    follower = page.context.new_page()
    follow_recorder = Recorder(origin)
    follow_recorder.attach(follower)
    open_page(follower, origin, lang)
    follower.click("#follow-open")
    check_step(follower, axe_source, lang, "follow")
    follower.fill("#follow-number", number)
    follower.fill("#follow-pin", "0" + pin)
    follower.click("#follow-form [type=submit]")
    follower.wait_for_selector("#notice:not([hidden])")
    assert follower.locator("#notice-text").inner_text() == words["error.unauthorized"]
    follower.fill("#follow-pin", pin)
    follower.click("#follow-form [type=submit]")
    visible_step(follower, "status")
    assert follower.locator("#status-rows > tr").count() == 2
    assert follower.locator("#status-rows > tr.withdrawn").count() == 1
    assert [r.method for r in follow_recorder.requests if "/v1/" in r.url] == ["GET", "GET"]
    for request in follow_recorder.requests:
        assert urlsplit(request.url).netloc == urlsplit(origin).netloc


def test_a_video_is_registered_with_its_crop_and_turn_variants(
    browser_page: tuple[Any, Recorder], origin: str, tmp_path: Path
) -> None:
    """A clip chosen on the page goes to the registry as one item holding its vPDQ and its
    registration variants (`vpdq_robust`), so that cropped and turned copies are found too."""
    pytest.importorskip("av", reason="making the test clip needs PyAV (extra 'video')")
    from stopframe.demo.media import clip_frames, write_clip

    clip = write_clip(tmp_path / "holiday.mp4", clip_frames([41, 42]))
    page, recorder = browser_page
    open_page(page, origin, "en")
    page.click("#start")
    page.set_input_files("#files", [str(clip)])
    page.click("#hash-start")
    visible_step(page, "review")
    page.click("#review-next")
    page.click("#open-case")
    page.wait_for_selector("#case-credentials:not([hidden])", timeout=HASHING_TIMEOUT_MS)
    number = page.locator("#case-number").inner_text()
    pin = page.locator("#case-pin").inner_text()
    page.check("#saved")
    page.click("#case-next")
    page.click("#send")
    visible_step(page, "status")
    assert page.locator("#status-rows > tr").count() == 1
    items = httpx.get(f"{origin}/v1/cases/{number}/items", headers={"X-Case-Pin": pin}).json()
    [item] = items["items"]
    assert item["media"] == "video"
    assert {"vpdq", "vpdq_robust", "md5", "sha256"} <= set(item["kinds"])
    recorder.check([clip])


def test_files_that_cannot_be_hashed_are_named_in_plain_words(
    browser_page: tuple[Any, Recorder], origin: str, tmp_path: Path
) -> None:
    page, recorder = browser_page
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    notes = tmp_path / "notes.txt"
    notes.write_text("a shopping list\n", encoding="utf-8")
    words = catalogue("ur")
    open_page(page, origin, "ur")
    page.click("#start")
    page.set_input_files("#files", [str(empty), str(notes)])
    page.click("#hash-start")
    visible_step(page, "review")
    problems = page.locator("#review-list .problem").all_inner_texts()
    assert problems == [words["error.hash_empty"], words["error.hash_unsupported"]]
    assert page.locator("#review-next").is_disabled()
    assert recorder.errors == []


@pytest.mark.parametrize("how", ["button", "escape twice"])
def test_quick_exit_leaves_at_once_and_forgets(
    browser_page: tuple[Any, Recorder], origin: str, how: str
) -> None:
    page, recorder = browser_page
    open_page(page, origin, "en")
    page.click("#start")
    page.set_input_files("#files", [str(CHOSEN[0])])
    page.click("#hash-start")
    visible_step(page, "review")
    entries = page.evaluate("history.length")
    if how == "button":
        page.click("#quick-exit")
    else:
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
    page.wait_for_url(f"{origin}/static/leave.html")
    assert page.evaluate("history.length") == entries  # the page was replaced, not stacked
    assert page.evaluate("document.body.innerText.trim()") == ""
    for request in recorder.requests:
        assert urlsplit(request.url).netloc in (urlsplit(origin).netloc, ""), request.url


def test_one_escape_does_not_leave(browser_page: tuple[Any, Recorder], origin: str) -> None:
    page, _recorder = browser_page
    open_page(page, origin, "en")
    page.keyboard.press("Escape")
    page.wait_for_timeout(1800)
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    assert page.url.startswith(f"{origin}/?")


def test_switching_language_rerenders_the_page(
    browser_page: tuple[Any, Recorder], origin: str
) -> None:
    page, _recorder = browser_page
    open_page(page, origin, "en")
    page.select_option("#language", "ur")
    page.locator("html[dir=rtl]").wait_for(state="attached")
    assert page.locator("#intro-title").inner_text() == catalogue("ur")["intro.title"]
    assert page.title() == catalogue("ur")["page.title"]
    assert "lang=ur" in page.url
    assert page.evaluate(LOOSE_TEXT_JS) == []
    assert page.context.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
