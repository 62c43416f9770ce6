"""Every fuzz harness replays its committed seeds (always), then, where atheris is installed,
fuzzes for a bounded time in a child process (STOPFRAME_FUZZ_SECONDS per target, default 10)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.fuzz.findings import FINDINGS, Finding
from tests.fuzz.harness import TARGETS, harness
from tests.fuzz.seeds import SEEDS

HAVE_ATHERIS = importlib.util.find_spec("atheris") is not None
HAVE_AV = importlib.util.find_spec("av") is not None
HAVE_LISTS = importlib.util.find_spec("defusedxml") is not None
FORMAT_TARGETS = {"threatexchange_csv", "threatexchange_text", "stopncii", "ncmec", "projectvic"}
REPO = Path(__file__).resolve().parents[2]


def _needs(target: str) -> None:
    if target == "video" and not HAVE_AV:
        pytest.skip("PyAV (extra 'video') is not installed: no video target")
    if target in FORMAT_TARGETS and not HAVE_LISTS:
        pytest.skip("defusedxml (extra 'lists') is not installed: no partner-format targets")


@pytest.mark.parametrize("target", TARGETS)
def test_seed_corpus_replays_cleanly(target: str) -> None:
    _needs(target)
    seeds = sorted((SEEDS / target).iterdir())
    assert seeds, f"no seeds for {target}"
    run = harness(target).TestOneInput
    for seed in seeds:
        data = seed.read_bytes()
        run(data)
        for cut in (1, len(data) // 2, len(data) - 1):  # cheap extra inputs: truncations
            run(data[:cut])


def test_seed_corpus_is_small() -> None:
    total = sum(path.stat().st_size for path in SEEDS.rglob("*") if path.is_file())
    assert total < 200 * 1024


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_for_a_bounded_time(target: str, tmp_path: Path) -> None:
    if not HAVE_ATHERIS:
        pytest.skip("atheris is not installed (pip install atheris): seeds were replayed only")
    _needs(target)
    seconds = int(os.environ.get("STOPFRAME_FUZZ_SECONDS", "10"))
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS / target, corpus)  # libFuzzer adds what it finds to the first folder
    command = [
        sys.executable, "-m", "tests.fuzz.run", target, str(corpus),
        f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-timeout=20",
        f"-artifact_prefix={tmp_path}/", "-print_final_stats=1",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=seconds + 120)
    crashes = sorted(path.name for path in tmp_path.iterdir() if path.is_file())
    assert done.returncode == 0 and not crashes, done.stderr[-4000:]


@pytest.mark.parametrize("finding", FINDINGS, ids=[f"{f.target}-{f.name}" for f in FINDINGS])
def test_what_the_fuzzers_found_stays_fixed(finding: Finding) -> None:
    _needs(finding.target)
    harness(finding.target).TestOneInput(finding.build())
