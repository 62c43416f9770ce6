"""The hostile-file corpus through the public path, `stopframe hash` in a child process held to
1 GiB of address space: every file gets a one-line error record or a valid hash, the batch goes
on, and no file needs more than 1 GB or more than a bounded time."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.hostile.corpus import HAVE_AV, write_corpus

GIB = 1 << 30
BATCH_SECONDS = 300.0
FILE_SECONDS = 60.0
MIN_FILES = 50
# Refusals must come from a limit check, never from running out of the 1 GiB ceiling.
OUT_OF_MEMORY = "not enough memory"
MUST_HASH = ("valid-", "mode-", "exif-", "big-", "frames-", "polyglot-jpeg-", "polyglot-png-")
MUST_FAIL = ("bomb-", "signature-only", "truncated-head", "zero-", "empty", "random-", "text-")


@dataclass(frozen=True)
class Run:
    """One finished `stopframe hash` child: its exit code, output, peak RSS and wall time."""

    code: int
    records: list[dict[str, object]]
    stderr: str
    peak_bytes: int
    seconds: float


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))


def run_hash(paths: list[Path], folder: Path, timeout: float) -> Run:
    """Run `stopframe hash` on `paths` under the memory ceiling; peak RSS is the child's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOPFRAME_")}
    command = [sys.executable, "-m", "stopframe", "hash", *map(str, paths)]
    out, err = folder / "stdout.jsonl", folder / "stderr.txt"
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            command, stdout=stdout, stderr=stderr, env=env, preexec_fn=_limit_memory
        )
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                child.kill()
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.05)
    child.returncode = os.waitstatus_to_exitcode(status)
    lines = out.read_text(encoding="utf-8").splitlines()
    return Run(
        child.returncode,
        [json.loads(line) for line in lines],
        err.read_text(encoding="utf-8", errors="replace"),
        usage.ru_maxrss * 1024,
        time.monotonic() - started,
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_corpus(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def batch(corpus: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_hash(corpus, tmp_path_factory.mktemp("batch"), BATCH_SECONDS)


def _check_clean(run: Run) -> None:
    """The child ended on its own with the CLI's documented codes and no traceback."""
    assert run.code in (0, 1), run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.peak_bytes <= GIB
    for record in run.records:
        error = record["error"]
        if record["status"] in ("error", "partial"):
            assert isinstance(error, str) and error and "\n" not in error, record
            assert not error.startswith("internal error"), record
        else:
            assert record["status"] in ("ok", "skipped"), record


def test_corpus_is_large_enough(corpus: list[Path]) -> None:
    assert len(corpus) >= MIN_FILES


def test_video_cases_are_included(corpus: list[Path]) -> None:
    if not HAVE_AV:
        pytest.skip("PyAV (extra 'video') is not installed: hostile videos are not built")
    assert any(path.suffix in (".mp4", ".webm", ".mkv") for path in corpus)


def test_batch_answers_every_file_and_goes_on(corpus: list[Path], batch: Run) -> None:
    _check_clean(batch)
    assert batch.code == 1  # some files fail, and the exit code says so
    assert batch.seconds < BATCH_SECONDS
    named = [r["path"] for r in batch.records if not str(r["path"]).startswith(str(corpus[-1]))]
    assert named == [str(path) for path in corpus[:-1]]  # one record per file, in order
    loop = [r for r in batch.records if str(r["path"]).startswith(str(corpus[-1]))]
    assert [r["status"] for r in loop] == ["skipped"]  # the folder loop is walked once
    for record in batch.records:
        if record["status"] == "error":
            assert f"error {record['path']}: {record['error']}" in batch.stderr


@pytest.mark.parametrize("prefix", MUST_HASH)
def test_benign_oddities_hash(prefix: str, batch: Run) -> None:
    chosen = [r for r in batch.records if Path(str(r["path"])).name.startswith(prefix)]
    assert chosen
    for record in chosen:
        assert record["status"] == "ok", record
        assert record["pdq"] or record["vpdq"], record


@pytest.mark.parametrize("prefix", MUST_FAIL)
def test_broken_files_are_refused(prefix: str, batch: Run) -> None:
    chosen = [r for r in batch.records if Path(str(r["path"])).name.startswith(prefix)]
    assert chosen
    for record in chosen:
        assert record["status"] == "error", record


HEAVY = ("bomb-", "big-", "frames-", "huge-")


def _alone(path: Path, folder: Path) -> str | None:
    """Hash `path` in its own child; what is wrong with the outcome, or None. A file within the
    limits ("big-") must hash."""
    run = run_hash([path], folder, FILE_SECONDS)
    try:
        _check_clean(run)
    except AssertionError as exc:
        return f"{path.name}: {exc}"
    [record] = run.records
    error = str(record["error"])
    if OUT_OF_MEMORY in error or error.startswith("internal error") or run.seconds >= FILE_SECONDS:
        return f"{path.name}: {error} after {run.seconds:.1f} s"
    if path.name.startswith("big-") and record["status"] != "ok":
        return f"{path.name}: within the limits but not hashed: {error}"
    return None


@pytest.mark.slow
def test_each_heavy_file_alone_stays_bounded(corpus: list[Path], tmp_path: Path) -> None:
    heavy = [p for p in corpus if p.name.startswith(HEAVY)]
    assert len(heavy) >= 15
    problems = [problem for path in heavy if (problem := _alone(path, tmp_path))]
    assert not problems
