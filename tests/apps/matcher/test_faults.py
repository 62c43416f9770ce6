"""Faults the matcher must survive with a clear answer and without losing its lists.

Uploads: truncated, unrecognised, empty, oversized (refused while streaming, not after
buffering), decompression-bomb headers and malformed multipart bodies each get a 4xx, and the
next good upload still matches; uploads never touch a temporary file and free their memory file.
Sync: `stopframe matcher sync` killed with SIGKILL in each phase of a large partner import leaves
a data dir that reopens consistently and that the next run completes exactly; a damaged
generation file is refused by readers, which keep the previous one; a full disk at publish keeps
the old generation serving, is reported, and the change lands on a later round (a full disk at
the list store's commit is recorded and retried).
"""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.apps.matcher.conftest import (
    BANK,
    FORMAT,
    PROBLEM_JSON,
    Api,
    Picture,
    partner_syncer,
    random_pdq,
    sync_partner,
    write_list,
)

from stopframe.apps.matcher.service import MatchService
from stopframe.apps.matcher.sources import store_path
from stopframe.apps.matcher.status import read_status
from stopframe.apps.matcher.sync import INDEX_DIR
from stopframe.apps.matcher.upload import receive
from stopframe.config import MatcherSettings
from stopframe.errors import TooLarge
from stopframe.hashing.files import HashOptions
from stopframe.lists.store import ListStore
from stopframe.matching import generations
from stopframe.matching.generations import MANIFEST, current_name
from stopframe.matching.index_set import IndexSet
from stopframe.media.limits import MediaLimits

OpenApi = Callable[..., Api]
BOUNDARY = "sf-test-boundary"


@pytest.fixture
def listed(tmp_path: Path, pictures: list[Picture]) -> MatcherSettings:
    """A data dir whose partner list holds the first picture's pdq (entry 1)."""
    data_dir = tmp_path / "matcher"
    sync_partner(data_dir, write_list(tmp_path / "partner.txt", [("pdq", pictures[0].pdq)]))
    return MatcherSettings(matcher_data_dir=data_dir)


def png_header_only(width: int, height: int) -> bytes:
    """A small 1-bit PNG that declares `width` x `height` but carries a few rows of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress((b"\0" + b"\0" * ((width + 7) // 8)) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def form(*parts: tuple[str, bytes], boundary: str = BOUNDARY, close: bool = True) -> bytes:
    """A multipart/form-data body of `(field name, content)` parts."""
    out = b""
    for name, content in parts:
        out += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="f"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    return out + (f"--{boundary}--\r\n".encode() if close else b"")


def post_media(api: Api, body: bytes, content_type: str) -> httpx.Response:
    headers = {**api.headers(api.match_key), "content-type": content_type}
    return api.client.post("/v1/match/media", content=body, headers=headers)


def refused(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    return str(answer.json()["detail"])


def assert_still_matching(api: Api, picture: Picture) -> None:
    answer = api.media(picture.path.read_bytes())
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"] == "review"


# -- bad uploads -------------------------------------------------------------------------------
BAD_UPLOADS: dict[str, tuple[Callable[[bytes], bytes], str, int, str]] = {
    "truncated-jpeg": (lambda good: good[: len(good) // 2], "image/jpeg", 422, "truncated"),
    "random-bytes": (lambda good: os.urandom(20_000), "image/jpeg", 415, "not a recognised"),
    "text": (lambda good: b"just some notes\n" * 100, "text/plain", 415, "not a recognised"),
    "empty": (lambda good: b"", "image/jpeg", 422, "empty"),
    "bomb": (lambda good: png_header_only(20_000, 20_000), "image/png", 413, "bomb"),
    "one-long-side": (lambda good: png_header_only(40_000, 8), "image/png", 413, "side"),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_a_bad_upload_gets_a_clear_refusal_and_the_service_keeps_answering(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture], case: str
) -> None:
    api = open_api(listed)
    make, content_type, status, detail = BAD_UPLOADS[case]
    good = pictures[0].path.read_bytes()
    assert detail in refused(api.media(make(good), content_type), status)
    raw = post_media(api, make(good), "application/octet-stream")  # the raw body, sniffed
    assert detail in refused(raw, status)
    assert_still_matching(api, pictures[0])


def test_pixels_are_bounded_by_the_configured_limits_before_decoding(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    limits = MediaLimits(max_pixels=10_000_000)
    api = open_api(listed, options=HashOptions(limits=limits))
    answer = api.media(png_header_only(5_000, 5_000), "image/png")
    assert "STOPFRAME_MAX_PIXELS" in refused(answer, 413)
    assert_still_matching(api, pictures[0])


def test_an_upload_over_the_size_limit_is_refused(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    api = open_api(listed, options=HashOptions(limits=MediaLimits(max_file_bytes=100_000)))
    big = pictures[0].path.read_bytes()
    assert len(big) > 100_000
    assert "100000-byte limit" in refused(api.media(big), 413)
    assert "100000-byte limit" in refused(post_media(api, big, "image/jpeg"), 413)
    small = [p for p in pictures if p.path.stat().st_size <= 100_000]
    if small:
        assert api.media(small[0].path.read_bytes()).status_code == 200


def test_the_upload_limit_follows_stopframe_max_file_bytes(
    open_api: OpenApi,
    listed: MatcherSettings,
    pictures: list[Picture],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOPFRAME_MAX_FILE_BYTES", "50000")
    api = open_api(listed)  # no options given: the limits come from the environment
    assert "50000-byte limit" in refused(api.media(pictures[0].path.read_bytes()), 413)


class Counted:
    """A request body of `chunks` chunks of `size` bytes that counts how many were read."""

    def __init__(self, prefix: bytes, chunks: int, size: int = 10_000) -> None:
        self.prefix, self.chunks, self.size, self.read = prefix, chunks, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.prefix
        for _ in range(self.chunks):
            self.read += 1
            yield b"\xff" * self.size


@pytest.mark.parametrize("multipart", [False, True], ids=["raw", "multipart"])
def test_an_oversized_body_is_refused_while_streaming_not_after_buffering(multipart: bool) -> None:
    """100 MB offered against a 100 kB limit: reading stops within a chunk of the limit."""
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n\r\n'.encode()
    body = Counted(head if multipart else b"", chunks=10_000)
    content_type = f"multipart/form-data; boundary={BOUNDARY}" if multipart else "image/jpeg"
    with pytest.raises(TooLarge):
        asyncio.run(receive(content_type, body.__aiter__(), limit=100_000))
    assert body.read <= 11


MALFORMED: dict[str, tuple[Callable[[bytes], bytes], str, str]] = {
    "other-boundary": (
        lambda good: form(("file", good), boundary="another"),
        f"multipart/form-data; boundary={BOUNDARY}",
        "malformed multipart",
    ),
    "no-boundary": (lambda good: form(("file", good)), "multipart/form-data", "boundary"),
    "no-file-field": (
        lambda good: form(("content_id", b"post-1")),
        f"multipart/form-data; boundary={BOUNDARY}",
        "no 'file' field",
    ),
    "two-file-fields": (
        lambda good: form(("file", good), ("file", good)),
        f"multipart/form-data; boundary={BOUNDARY}",
        "more than one 'file'",
    ),
    "cut-off": (  # the body stops mid-file: never hash half a picture as if whole
        lambda good: form(("file", good))[: len(good) // 2],
        f"multipart/form-data; boundary={BOUNDARY}",
        "closing boundary",
    ),
    "no-closing-boundary": (
        lambda good: form(("file", good), close=False),
        f"multipart/form-data; boundary={BOUNDARY}",
        "closing boundary",
    ),
    "long-text-field": (
        lambda good: form(("content_id", b"x" * 5000), ("file", good)),
        f"multipart/form-data; boundary={BOUNDARY}",
        "over 1024 bytes",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_form_is_refused(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture], case: str
) -> None:
    api = open_api(listed)
    make, content_type, detail = MALFORMED[case]
    assert detail in refused(
        post_media(api, make(pictures[0].path.read_bytes()), content_type), 422
    )
    assert_still_matching(api, pictures[0])


def test_a_form_with_the_file_and_a_content_id_is_matched(
    open_api: OpenApi, listed: MatcherSettings, pictures: list[Picture]
) -> None:
    api = open_api(listed)
    body = form(("content_id", b"post-9"), ("file", pictures[0].path.read_bytes()))
    answer = post_media(api, body, f"multipart/form-data; boundary={BOUNDARY}")
    assert answer.status_code == 200 and answer.json()["decision"] == "review"
    assert api.admin("GET", "/decisions").json()[0]["content_id"] == "post-9"


def test_uploads_never_touch_disk_and_free_their_memory(
    open_api: OpenApi,
    listed: MatcherSettings,
    pictures: list[Picture],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = open_api(listed)
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    monkeypatch.setenv("TMPDIR", str(spool))

    def no_temporary_files(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an upload went to a temporary file")

    for name in ("SpooledTemporaryFile", "NamedTemporaryFile", "TemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_temporary_files)
    real_open = builtins.open

    def read_only_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"an upload opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)

    picture = pictures[0].path.read_bytes()
    before = memory_files()
    with monkeypatch.context() as patched:
        patched.setattr(builtins, "open", read_only_open)
        assert api.media(picture).json()["decision"] == "review"
        assert post_media(api, picture, "image/jpeg").json()["decision"] == "review"
        body = form(("content_id", b"c"), ("file", picture))
        multipart = f"multipart/form-data; boundary={BOUNDARY}"
        assert post_media(api, body, multipart).status_code == 200
        refused(post_media(api, picture[:1000], "image/jpeg"), 422)
        refused(post_media(api, body[:-200], multipart), 422)
    assert list(spool.iterdir()) == []
    assert memory_files() == before == []


def memory_files() -> list[str]:
    """The upload memory files this process still holds open."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "stopframe-upload" in target:
            found.append(target)
    return found


# -- sync killed mid-apply ---------------------------------------------------------------------
KILL_ENTRIES = 100_000


def sync_command(data_dir: Path, path: Path) -> list[str]:
    return [
        sys.executable, "-m", "stopframe", "matcher", "sync",
        "--source", f"{BANK}={FORMAT}:{path}", "--data-dir", str(data_dir),
    ]  # fmt: skip


def kill_when(data_dir: Path, path: Path, due: Callable[[float], bool], limit: float = 60) -> None:
    """Run a sync and SIGKILL it as soon as `due(seconds since start)` holds."""
    started = time.monotonic()
    process = subprocess.Popen(
        sync_command(data_dir, path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while process.poll() is None and not due(time.monotonic() - started):
            assert time.monotonic() - started < limit, "the sync never reached the phase"
            time.sleep(0.003)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the sync finished before it was killed"


def current_generation(data_dir: Path) -> str | None:
    try:
        return current_name(data_dir / INDEX_DIR)
    except Exception:  # mid-write; asked again a moment later
        return None


class Phases:
    """Predicates for `kill_when` that land in each phase of a partner import."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.seen_at: float | None = None

    def starting(self, elapsed: float) -> bool:
        """Interpreter and imports: nothing written yet, or just the folders."""
        return elapsed > 0.5

    def diffing(self, elapsed: float) -> bool:
        """A second after the empty first generation: parsing, diffing, indexing in memory."""
        if self.seen_at is None and current_generation(self.data_dir):
            self.seen_at = elapsed
        return self.seen_at is not None and elapsed > self.seen_at + 1.0

    def writing_base(self, elapsed: float) -> bool:
        """A new base segment is being written: the generation is being staged."""
        bases = self.data_dir / INDEX_DIR / generations.BASES
        return bases.is_dir() and any(bases.iterdir())

    def published(self, start: str | None) -> Callable[[float], bool]:
        """The full generation is current and the list store is not committed yet."""
        return lambda elapsed: current_generation(self.data_dir) not in (None, start)


def check_consistent(data_dir: Path, total: int) -> None:
    """Whatever was killed, a reader opens the current generation (all rows or none of them)
    and the list store opens with all entries or none."""
    root = data_dir / INDEX_DIR
    if current_name(root) is not None:
        reader = IndexSet(root)
        assert reader.refresh(), reader.last_error
        assert reader.size("pdq") in (0, total)
    if store_path(data_dir, BANK).exists():
        with ListStore.open(store_path(data_dir, BANK), create=False) as store:
            assert store.count() in (0, total)
            assert store.sequence in (-1, 0, total)


def store_entries(data_dir: Path) -> int:
    with ListStore.open(store_path(data_dir, BANK), create=False) as store:
        return store.count()


def test_a_sync_killed_in_any_phase_resumes_to_exactly_the_file(tmp_path: Path) -> None:
    values = random_pdq(KILL_ENTRIES, seed=11)
    path = write_list(tmp_path / "big.txt", (("pdq", v) for v in values))
    data_dir = tmp_path / "matcher"
    phases = Phases(data_dir)

    kill_when(data_dir, path, phases.starting)
    check_consistent(data_dir, KILL_ENTRIES)
    kill_when(data_dir, path, phases.diffing)
    check_consistent(data_dir, KILL_ENTRIES)
    empty = current_generation(data_dir)
    assert empty is not None and store_entries(data_dir) == 0
    kill_when(data_dir, path, phases.writing_base)
    check_consistent(data_dir, KILL_ENTRIES)
    assert current_generation(data_dir) == empty  # killed before the generation was published
    kill_when(data_dir, path, phases.published(empty))
    check_consistent(data_dir, KILL_ENTRIES)
    reader = IndexSet(data_dir / INDEX_DIR)
    reader.refresh()
    assert reader.size("pdq") == KILL_ENTRIES  # the index is published first,
    assert store_entries(data_dir) == 0  # the list store committed after it

    done = subprocess.run(sync_command(data_dir, path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["sources"][BANK]
    assert (report["entries"], report["error"]) == (KILL_ENTRIES, None)

    reader = IndexSet(data_dir / INDEX_DIR)
    assert reader.refresh()
    assert reader.size("pdq") == KILL_ENTRIES
    with ListStore.open(store_path(data_dir, BANK), create=False) as store:
        listed = {(e.id, e.value) for e in store.entries()}
    assert {value for _, value in listed} == set(values)
    assert {entry_id for entry_id, _ in listed} == set(range(1, KILL_ENTRIES + 1))
    root = data_dir / INDEX_DIR
    kept = [generations.read_manifest(p / MANIFEST) for p in root.glob("g[0-9]*")]
    used = {files.base for manifest in kept for files in manifest.kinds.values()}
    bases = {f"{generations.BASES}/{p.name}" for p in (root / generations.BASES).iterdir()}
    assert bases <= used  # the killed runs' half-written bases are gone
    assert not list(root.glob("*.tmp*")) and not list(root.glob("*/*.tmp*"))

    service = MatchService(MatcherSettings(matcher_data_dir=data_dir), hooks=[], record=False)
    try:
        probe = [values[0], values[KILL_ENTRIES // 2], values[-1], random_pdq(1, seed=99)[0]]
        outcome = service.match_hashes([{"kind": "pdq", "value": v} for v in probe])
        found = [[(m.entry_id, m.distance) for m in r.matches] for r in outcome.results]
        assert found == [[(1, 0)], [(KILL_ENTRIES // 2 + 1, 0)], [(KILL_ENTRIES, 0)], []]
    finally:
        service.close()


# -- damaged generations -----------------------------------------------------------------------
def section_offset(path: Path, name: str) -> int:
    """Where section `name` of an index segment file starts (layout: stopframe.index.storage)."""
    raw = path.read_bytes()
    head, entry = struct.Struct("<8sIIQII"), struct.Struct("<16sQQII")
    sections = head.unpack_from(raw)[5]
    for i in range(sections):
        label, offset, length, _, _ = entry.unpack_from(raw, head.size + i * entry.size)
        if label.rstrip(b"\0").decode() == name:
            assert length > 0, f"{path}: section {name} is empty"
            return int(offset)
    raise AssertionError(f"{path}: no section {name}")


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0x10]))


@pytest.fixture
def two_generations(tmp_path: Path) -> Iterator[Callable[[str], tuple[IndexSet, Path]]]:
    """Publish a generation a reader loads, then a second one with a base, a delta and removed
    ids, returning the reader and the second generation's folder."""
    values = random_pdq(40, seed=5)
    path = write_list(tmp_path / "list.txt", (("pdq", v) for v in values[:30]))
    syncer = partner_syncer(tmp_path / "matcher", path)

    def publish(kind: str) -> tuple[IndexSet, Path]:
        syncer.writer.rebase_rows = 0  # the rows go to a new base at each publish
        syncer.sync_once()
        reader = IndexSet(tmp_path / "matcher" / INDEX_DIR)
        assert reader.refresh() and reader.size("pdq") == 30
        if kind != "base":  # keep the change in a delta and removed ids
            syncer.writer.rebase_rows, syncer.writer.rebase_share = 1_000_000, 1.0
        write_list(path, (("pdq", v) for v in values[5:40]))  # 5 withdrawn, 10 added
        assert syncer.sync_once() == {BANK: 15}
        name = current_name(tmp_path / "matcher" / INDEX_DIR)
        assert name is not None
        return reader, tmp_path / "matcher" / INDEX_DIR / name

    yield publish
    syncer.close()


@pytest.mark.parametrize("damaged", ["delta", "base", "removed", "manifest"])
def test_a_damaged_generation_is_refused_and_the_old_one_keeps_serving(
    two_generations: Callable[[str], tuple[IndexSet, Path]], damaged: str
) -> None:
    reader, folder = two_generations(damaged)
    old = reader.manifest
    assert old is not None
    manifest = generations.read_manifest(folder / MANIFEST)
    files = manifest.kinds["pdq"]
    root = folder.parent
    if damaged == "delta":
        assert files.delta is not None
        flip_byte(root / files.delta, section_offset(root / files.delta, "codes") + 3)
    elif damaged == "base":
        assert files.base is not None and files.base != old.kinds["pdq"].base
        flip_byte(root / files.base, section_offset(root / files.base, "ids") + 1)
    elif damaged == "removed":
        assert files.removed is not None
        flip_byte(root / files.removed, 2)
    else:
        text = (folder / MANIFEST).read_bytes()
        (folder / MANIFEST).write_bytes(text[: len(text) // 2])

    assert not reader.refresh()
    assert reader.last_error is not None
    assert str(folder.name) in reader.last_error or str(files.base) in reader.last_error
    assert reader.manifest == old
    assert reader.size("pdq") == 30
    assert not reader.refresh()  # asked again: refused again, still serving
    fresh = IndexSet(root)  # a worker starting now has nothing good to load
    assert not fresh.refresh() and not fresh.ready


# -- a full disk at publish --------------------------------------------------------------------
def test_a_full_disk_at_publish_keeps_the_old_generation_and_the_change_lands_later(
    open_api: OpenApi, tmp_path: Path, pictures: list[Picture], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = pictures[:2]
    path = write_list(tmp_path / "partner.txt", [("pdq", first.pdq)])
    data_dir = tmp_path / "matcher"
    syncer = partner_syncer(data_dir, path)
    try:
        syncer.sync_once()
        api = open_api(MatcherSettings(matcher_data_dir=data_dir))
        served = api.service.index_set.manifest
        assert served is not None

        write_list(path, [("pdq", first.pdq), ("pdq", second.pdq)])

        def disk_full(target: Path, data: bytes) -> None:
            raise OSError(28, "No space left on device", str(target))

        with monkeypatch.context() as patched:
            patched.setattr(generations, "_write_durable", disk_full)
            assert syncer.sync_once() == {BANK: 0}
        status = read_status(data_dir)
        assert status is not None
        assert "No space left on device" in (status.sources[BANK].last_error or "")
        assert "No space left on device" in (status.publish_error or "")
        assert current_name(data_dir / INDEX_DIR) == served.name
        assert not list((data_dir / INDEX_DIR).glob("*.tmp"))
        api.service.index_set.refresh()
        assert api.service.index_set.manifest == served
        assert api.hashes(("pdq", first.pdq)).json()["decision"] == "review"
        assert api.hashes(("pdq", second.pdq)).json()["decision"] == "none"

        deadline = time.monotonic() + 10  # the source backs off a second or so after a failure
        while syncer.status.sources[BANK].last_error is not None:
            assert time.monotonic() < deadline, syncer.status.sources[BANK]
            syncer.sync_once()
            time.sleep(0.1)
        assert syncer.status.sources[BANK].entries == 2
        status = read_status(data_dir)
        assert status is not None and status.publish_error is None
        deadline = time.monotonic() + 5
        while api.hashes(("pdq", second.pdq)).json()["decision"] != "review":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        ids = [
            m["entry_id"] for m in api.hashes(("pdq", second.pdq)).json()["results"][0]["matches"]
        ]
        assert ids == [2]
    finally:
        syncer.close()


def test_a_full_disk_at_the_store_commit_is_recorded_not_raised(
    tmp_path: Path, pictures: list[Picture], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_list(tmp_path / "partner.txt", [("pdq", pictures[0].pdq)])
    syncer = partner_syncer(tmp_path / "matcher", path)
    try:
        syncer.sync_once()
        write_list(path, [("pdq", pictures[0].pdq), ("pdq", pictures[1].pdq)])

        def disk_full(self: ListStore, page: object) -> int:
            raise sqlite3.OperationalError("database or disk is full")

        with monkeypatch.context() as patched:
            patched.setattr(ListStore, "apply_changes", disk_full)
            assert syncer.sync_once() == {BANK: 0}
        assert "disk is full" in (syncer.status.sources[BANK].last_error or "")
    finally:
        syncer.close()
