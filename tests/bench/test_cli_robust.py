"""`stopframe bench robust-hashes` / `robust-match`: hashes out, matches back, bad input named."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stopframe.cli import app


def test_register_then_match(vectors_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    dih = vectors_dir / "pdq/data/reg-test-input/dih"
    result = runner.invoke(app, ["bench", "robust-hashes", str(dih / "bridge-1-original.jpg")])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["role"] == "register" and 10 <= len(record["hashes"]) <= 32
    assert all(len(h["pdq"]) == 64 and h["quality"] >= 50 for h in record["hashes"])
    listing = tmp_path / "registered.jsonl"
    listing.write_text(result.stdout)
    unrelated = vectors_dir / "pdq/data/reg-test-input/labelme-subset/q0122.jpg"
    result = runner.invoke(app, ["bench", "robust-match", "--registered", str(listing),
                                 str(dih / "bridge-2-rotate-90.jpg"), str(unrelated)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines[0]["matches"]) == 1 and lines[1]["matches"] == []


def test_bad_files_are_named_and_do_not_stop_the_batch(vectors_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    good = vectors_dir / "pdq/data/reg-test-input/dih/bridge-1-original.jpg"
    result = CliRunner().invoke(app, ["bench", "robust-hashes", str(broken), str(good)])
    assert result.exit_code == 1
    assert "broken.jpg" in result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_bad_registered_line_is_reported(tmp_path: Path, vectors_dir: Path) -> None:
    listing = tmp_path / "registered.jsonl"
    listing.write_text('{"file": "x", "hashes": [{"pdq": "zz", "quality": 90}]}\n')
    good = vectors_dir / "pdq/data/reg-test-input/dih/bridge-1-original.jpg"
    result = CliRunner().invoke(app, ["bench", "robust-match", "--registered", str(listing),
                                      str(good)])
    assert result.exit_code == 2
    assert "registered.jsonl:1" in result.stderr


def test_benchmark_without_corpus_says_how_to_get_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "robustness", "--corpus", str(tmp_path / "none"),
                                      "--out", str(tmp_path / "out"), "--cache-dir",
                                      str(tmp_path / "cache")])
    assert result.exit_code == 2
    assert "get-test-corpus.sh" in result.stderr
