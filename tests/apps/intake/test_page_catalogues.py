"""The page's languages and files, read without a browser: every catalogue has the same keys and
placeholders, every key the page uses exists and every message is used, no text or code sits
outside the catalogues and modules, nothing points to another site, and the folder stays small."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from stopframe.apps.intake.site import STATIC_DIR

I18N = STATIC_DIR / "i18n"
PAGE_JS = sorted(p for p in (STATIC_DIR / "js").glob("*.js"))  # the page's own, not js/hash/
MAX_STATIC_BYTES = 300 * 1024
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def languages() -> list[dict[str, str]]:
    return json.loads((I18N / "languages.json").read_text(encoding="utf-8"))


def catalogue(code: str) -> dict[str, str]:
    return json.loads((I18N / f"{code}.json").read_text(encoding="utf-8"))


class PageParser(HTMLParser):
    """Collects the message keys index.html names, its inline code and its loose text."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[str] = set()
        self.loose_text: list[str] = []
        self.inline: list[str] = []
        self.stack: list[bool] = []  # per open element: is its text from a catalogue?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-i18n" in found:
            self.keys.add(found["data-i18n"] or "")
        for pair in (found.get("data-i18n-attr") or "").split(";"):
            if pair:
                self.keys.add(pair.split(":", 1)[1])
        if tag == "script" and not found.get("src"):
            self.inline.append("script without src")
        if tag == "style" or "style" in found:
            self.inline.append(f"style on <{tag}>")
        self.inline += [f"{name} on <{tag}>" for name in found if name.startswith("on")]
        if tag not in ("meta", "link", "input", "br", "img"):
            inherited = bool(self.stack and self.stack[-1])
            self.stack.append(inherited or "data-i18n" in found or "data-literal" in found)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("meta", "link", "input", "br", "img") and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.stack and self.stack[-1]):
            self.loose_text.append(data.strip())


@pytest.fixture(scope="module")
def page() -> PageParser:
    parser = PageParser()
    parser.feed((STATIC_DIR / "index.html").read_text(encoding="utf-8"))
    return parser


def js_keys() -> set[str]:
    """Message keys the page's modules name: string literals of the catalogue's namespaces."""
    namespaces = {key.split(".")[0] for key in catalogue("en")}
    alternatives = "|".join(sorted(namespaces))
    # a key alone in quotes, or after "attribute:" in a data-i18n-attr value
    pattern = re.compile(rf"""(?<=["':])((?:{alternatives})\.[a-z0-9_]+)(?=["';])""")
    return {m for path in PAGE_JS for m in pattern.findall(path.read_text(encoding="utf-8"))}


def test_every_language_is_listed_with_its_catalogue() -> None:
    listed = languages()
    codes = [lang["code"] for lang in listed]
    assert codes[0] == "en" and "ur" in codes
    files = {p.stem for p in I18N.glob("*.json")} - {"languages"}
    assert files == set(codes)
    for lang in listed:
        assert lang["dir"] in ("ltr", "rtl") and lang["name"] and lang["digits"]
    urdu = next(lang for lang in listed if lang["code"] == "ur")
    assert (urdu["dir"], urdu["digits"]) == ("rtl", "arabext")


@pytest.mark.parametrize("code", [lang["code"] for lang in languages()])
def test_every_catalogue_has_the_same_keys_and_placeholders(code: str) -> None:
    english, other = catalogue("en"), catalogue(code)
    assert set(other) == set(english)
    for key, text in other.items():
        assert text.strip(), key
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(english[key])), key


def test_urdu_is_written_in_urdu() -> None:
    urdu = catalogue("ur")
    arabic_script = re.compile(r"[\u0600-\u06ff]")
    untranslated = [k for k, v in urdu.items() if not arabic_script.search(v)]
    assert untranslated == ["case.file_name"]  # a file name, kept in Latin letters on purpose


def test_every_key_the_page_uses_exists_and_every_message_is_used(page: PageParser) -> None:
    known = set(catalogue("en"))
    used = page.keys | js_keys()
    assert used - known == set()
    assert known - used == set()


def test_index_has_no_loose_text_and_no_inline_code(page: PageParser) -> None:
    assert page.loose_text == []
    assert page.inline == []


def test_the_page_refers_to_no_other_site() -> None:
    address = re.compile(
        r"""(?:src|href|action)\s*=\s*["'](?!/|#|data-)|https?://|//[a-z0-9.-]+\.[a-z]{2,}/"""
    )
    offenders = []
    for path in STATIC_DIR.rglob("*"):
        if path.suffix in (".html", ".css", ".js") and path.parent.name != "hash":
            text = path.read_text(encoding="utf-8")
            offenders += [f"{path.name}: {m.group(0)}" for m in address.finditer(text)]
    assert offenders == []


def test_the_static_folder_stays_small() -> None:
    total = sum(p.stat().st_size for p in STATIC_DIR.rglob("*") if p.is_file())
    assert total <= MAX_STATIC_BYTES, f"{total} bytes"
