"""The intake page's hashing module (static/js/hash) in real Chromium, against the Python
reference on the same files: PDQ, the robust set, vPDQ, MD5/SHA-256, the proof of work and the
errors for bad input."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from stopframe.bench.corpus import default_corpus_dir
from stopframe.errors import MediaError
from stopframe.signals.pdq import hamming_distance
from stopframe.signals.pdq_image import DecodePath, pdq_of_bytes
from stopframe.signals.pdq_robust import parse_robust_set, register_hashes, set_distance
from stopframe.signals.vpdq import VPDQ, hash_video, parse_vpdq_lines
from stopframe.signals.vpdq_robust import VPDQ_ROBUST, hash_video_robust, parse_robust_lines

pytestmark = pytest.mark.browser

SHARED = Path(__file__).resolve().parents[4] / "shared"  # beside the checkout, as tests/conftest
VECTORS = Path(os.environ.get("STOPFRAME_SHARED_DIR", SHARED)) / "vectors"
CORPUS = default_corpus_dir() / "images"
HARNESS = Path(__file__).with_name("harness.html")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
PDQ_TOLERANCE = 10  # bits between the browser's PDQ and Python's reference path
ROBUST_TOLERANCE = 10  # bits per variant, and between the two sets
CORPUS_SAMPLE = 200


@pytest.fixture()
def page(chromium: Any, static_origin: Any) -> Iterator[Any]:
    """The harness page, loaded from the static origin, with the hashing module on `window`."""
    shutil.copy(HARNESS, static_origin.media / "harness.html")
    context = chromium.new_context()
    tab = context.new_page()
    tab.goto(f"{static_origin.url}/_media/harness.html")
    tab.wait_for_function("window.ready === true")
    yield tab
    context.close()


def _serve(media: Path, files: list[Path]) -> list[str]:
    """Link `files` into the served media folder; their names there."""
    names = []
    for number, path in enumerate(files):
        name = f"{number:04d}{path.suffix.lower()}"
        (media / name).symlink_to(path.resolve())
        names.append(name)
    return names


def _hash_all(page: Any, names: list[str]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate("names => window.hashNames(names)", names)
    return result


def _signals(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert "result" in entry, f"{entry['name']}: {entry.get('code')} {entry.get('message')}"
    return {signal["kind"]: signal for signal in entry["result"]["signals"]}


def _compare_pdq(files: list[Path], results: list[dict[str, Any]]) -> tuple[int, int, list[str]]:
    """(within tolerance, compared, failures) over files whose Python PDQ has quality >= 50."""
    within, compared, failures = 0, 0, []
    for path, entry in zip(files, results, strict=True):
        try:
            _, reference = pdq_of_bytes(path.read_bytes(), path.name, DecodePath.REFERENCE)
        except MediaError:
            continue
        if reference.quality < 50:
            continue
        compared += 1
        if "result" not in entry:
            failures.append(f"{path.name}: {entry['code']}")
            continue
        value = _signals(entry)["pdq"]["value"]
        distance = hamming_distance(bytes.fromhex(value), reference.hash.digest)
        if distance <= PDQ_TOLERANCE:
            within += 1
        else:
            failures.append(f"{path.name}: {distance} bits")
    return within, compared, failures


def _vector_images() -> list[Path]:
    folder = VECTORS / "pdq"
    if not folder.is_dir():
        pytest.skip(f"no PDQ test vectors at {folder}")
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _corpus_sample() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.skip(f"no benign corpus at {CORPUS}: run scripts/get-test-corpus.sh")
    photos = sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(photos) < CORPUS_SAMPLE:
        pytest.skip(f"the corpus holds {len(photos)} photos, fewer than {CORPUS_SAMPLE}")
    step = len(photos) / CORPUS_SAMPLE
    return [photos[int(i * step)] for i in range(CORPUS_SAMPLE)]


def test_pdq_of_every_vector_image_is_within_10_bits(page: Any, static_origin: Any) -> None:
    files = _vector_images()
    results = _hash_all(page, _serve(static_origin.media, files))
    within, compared, failures = _compare_pdq(files, results)
    assert compared >= 40
    assert within == compared, failures


def test_pdq_of_corpus_photos_within_10_bits(page: Any, static_origin: Any) -> None:
    files = _corpus_sample()
    results = _hash_all(page, _serve(static_origin.media, files))
    within, compared, failures = _compare_pdq(files, results)
    assert compared >= 150
    assert within >= 0.99 * compared, failures


def _robust_agreement(
    files: list[Path], results: list[dict[str, Any]]
) -> tuple[int, int, list[str]]:
    """(agreeing, compared, failures): a set agrees when both sides have the same variants in
    the same order, each within ROBUST_TOLERANCE bits, and the sets are that close."""
    agree, compared, failures = 0, 0, []
    for path, entry in zip(files, results, strict=True):
        try:
            decoded, _ = pdq_of_bytes(path.read_bytes(), path.name, DecodePath.REFERENCE)
        except MediaError:
            continue
        python_set = register_hashes(np.asarray(decoded.image.convert("RGB")))
        signals = _signals(entry) if "result" in entry else {}
        if not python_set:
            assert "pdq_robust" not in signals, path.name
            continue
        compared += 1
        if "pdq_robust" not in signals:
            failures.append(f"{path.name}: no set")
            continue
        browser_set = parse_robust_set(signals["pdq_robust"]["value"])
        names = [item.variant for item in browser_set] == [item.variant for item in python_set]
        worst = max(
            (a.hash.distance(b.hash) for a, b in zip(browser_set, python_set, strict=False)),
            default=0,
        )
        close = set_distance(browser_set, python_set) <= ROBUST_TOLERANCE
        if names and worst <= ROBUST_TOLERANCE and close:
            agree += 1
        else:
            failures.append(f"{path.name}: same variants {names}, worst variant {worst} bits")
    return agree, compared, failures


def test_robust_set_matches_python_on_vectors_and_corpus(page: Any, static_origin: Any) -> None:
    files = _vector_images() + _corpus_sample()[::4]
    results = _hash_all(page, _serve(static_origin.media, files))
    agree, compared, failures = _robust_agreement(files, results)
    assert compared >= 60
    assert agree >= 0.98 * compared, failures


def test_vpdq_of_sample_videos_agrees_with_python(page: Any, static_origin: Any) -> None:
    folder = VECTORS / "vpdq" / "sample-videos"
    if not folder.is_dir():
        pytest.skip(f"no sample videos at {folder}")
    files = sorted(folder.glob("*.mp4"))
    results = _hash_all(page, _serve(static_origin.media, files))
    for path, entry in zip(files, results, strict=True):
        signals = _signals(entry)
        assert entry["result"]["media"] == "video"
        reference = hash_video(path)
        browser = {
            frame.frame_number: frame for frame in parse_vpdq_lines(signals["vpdq"]["value"])
        }
        python = {frame.frame_number: frame for frame in reference.frames}
        assert browser.keys() == python.keys(), path.name
        close = sum(
            hamming_distance(browser[n].digest, python[n].digest) <= 31
            for n in python
            if python[n].quality >= 50
        )
        good = sum(frame.quality >= 50 for frame in python.values())
        assert close >= 0.9 * good, f"{path.name}: {close} of {good} frames within 31 bits"
        assert VPDQ.distance(signals["vpdq"]["value"], reference.lines()) <= VPDQ.default_threshold
        assert signals["md5"]["value"] == reference.md5
        assert signals["sha256"]["value"] == reference.sha256


def test_vpdq_robust_of_sample_videos_agrees_with_python(page: Any, static_origin: Any) -> None:
    """The page's registration variants of each sampled frame (crops, turns) against
    `hash_video_robust`: the same frames and variants, and nearly every good variant within the
    frame distance (the page's luma comes from RGB, Python's from the decoder's plane)."""
    folder = VECTORS / "vpdq" / "sample-videos"
    if not folder.is_dir():
        pytest.skip(f"no sample videos at {folder}")
    files = sorted(folder.glob("*.mp4"))
    results = _hash_all(page, _serve(static_origin.media, files))
    close = good = 0
    for path, entry in zip(files, results, strict=True):
        value = _signals(entry)["vpdq_robust"]["value"]
        VPDQ_ROBUST.canonical(value)  # the registry would take it as it is
        browser = {(f.frame_number, f.variant): f for f in parse_robust_lines(value)}
        python = {(f.frame_number, f.variant): f for f in hash_video_robust(path)}
        assert browser.keys() == python.keys(), path.name
        for key, frame in python.items():
            if frame.quality >= 50:
                good += 1
                close += hamming_distance(browser[key].digest, frame.digest) <= 31
    assert good >= 100
    assert close >= 0.9 * good, f"{close} of {good} good variants within 31 bits"


def test_items_go_in_requests_bounded_by_count_and_size(page: Any) -> None:
    """The page's batching of items for the registry (api.js `firstBatch`): at most N items and
    about M characters of JSON a request; an item larger than M alone goes on its own."""
    sizes = page.evaluate(
        """async () => {
          const { firstBatch } = await import("/js/api.js");
          const item = (chars) => ({ media: "video", value: "x".repeat(chars) });
          const split = (items, maxItems, maxChars) => {
            const out = [];
            while (items.length) {
              const batch = firstBatch(items, (i) => i, maxItems, maxChars);
              out.push(batch.length);
              items = items.slice(batch.length);
            }
            return out;
          };
          return [
            split(Array.from({ length: 120 }, () => item(10)), 50, 1e9),
            split([item(900), item(900), item(900), item(5000), item(10)], 50, 2000),
          ];
        }"""
    )
    assert sizes == [[50, 50, 20], [2, 1, 1, 1]]


def test_digests_equal_hashlib_including_empty_and_multi_chunk(
    page: Any, static_origin: Any
) -> None:
    payloads = {
        "empty.bin": b"",
        "short.bin": b"abc",
        "block.bin": bytes(range(256)) * 4,
        "chunks.bin": os.urandom(9 * 1024 * 1024 + 17),  # three 4 MiB slices, the last partial
    }
    for name, data in payloads.items():
        (static_origin.media / name).write_bytes(data)
    got = page.evaluate(
        """async (names) => {
          const out = {};
          for (const name of names) {
            out[name] = await window.hashing.callWorker("digests", { file: await fileOf(name) });
          }
          return out;
        }""",
        list(payloads),
    )
    for name, data in payloads.items():
        assert got[name] == {
            "md5": hashlib.md5(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
        }, name


def test_proof_of_work_nonce_verifies_in_python(page: Any) -> None:
    for challenge, difficulty in [("abc", 4), ("d9f0c0ffee", 8), ("ünïcode-challenge", 12)]:
        nonce = page.evaluate(
            "([c, d]) => window.hashing.solveChallenge(c, d)", [challenge, difficulty]
        )
        assert 1 <= len(nonce) <= 32 and nonce.isalnum() and nonce == nonce.lower()
        digest = hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()
        assert int.from_bytes(digest, "big") >> (256 - difficulty) == 0


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height`, followed by one tiny data chunk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def test_bad_input_rejects_with_the_right_code(page: Any, static_origin: Any) -> None:
    photo = VECTORS / "pdq" / "data" / "bridge-mods" / "aaa-orig.jpg"
    if not photo.is_file():
        pytest.skip(f"no test photo at {photo}")
    data = photo.read_bytes()
    cases = {
        "empty.jpg": (b"", "empty"),
        "truncated.jpg": (data[: len(data) // 2], "corrupt"),
        "garbage.jpg": (b"\xff\xd8\xff\xe0" + os.urandom(4000) + b"\xff\xd9", "corrupt"),
        "notes.txt": (b"plain text, not a picture or a video\n" * 20, "unsupported"),
        "huge.png": (_png_header(40000, 40000), "too_large"),
        "many-pixels.png": (_png_header(20000, 20000), "too_large"),
    }
    for name, (content, _) in cases.items():
        (static_origin.media / name).write_bytes(content)
    results = _hash_all(page, list(cases))
    for entry in results:
        assert entry.get("code") == cases[entry["name"]][1], entry
        assert entry["message"]


def test_progress_rises_to_one_and_the_page_stays_responsive(page: Any, static_origin: Any) -> None:
    photo = VECTORS / "pdq" / "data" / "reg-test-input" / "exif-rotn" / "exif-rotn-6.jpg"
    if not photo.is_file():
        pytest.skip(f"no test photo at {photo}")
    (static_origin.media / "big.jpg").symlink_to(photo)
    got = page.evaluate(
        """async () => {
          const seen = [];
          let last = performance.now();
          let worstGap = 0;
          const timer = setInterval(() => {
            const now = performance.now();
            worstGap = Math.max(worstGap, now - last);
            last = now;
          }, 5);
          const file = await fileOf("big.jpg");
          const result = await window.hashing.hashFile(file, { onProgress: (v) => seen.push(v) });
          clearInterval(timer);
          return { seen, worstGap, width: result.width, height: result.height };
        }"""
    )
    assert (got["width"], got["height"]) == (3024, 4032)  # EXIF orientation 6 applied
    assert got["seen"][-1] == 1 and got["seen"] == sorted(got["seen"]) and len(got["seen"]) > 3
    assert got["worstGap"] < 400, f"the main thread stalled for {got['worstGap']:.0f} ms"
