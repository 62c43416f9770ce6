"""`stopframe hash --robust` then `stopframe match-images`: sets out, matches back, bad input
named."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stopframe.cli import app
from stopframe.signals import PDQ_ROBUST


def test_register_then_match(vectors_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    dih = vectors_dir / "pdq/data/reg-test-input/dih"
    result = runner.invoke(app, ["hash", "--robust", str(dih / "bridge-1-original.jpg")])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    lines = record["pdq_robust"].splitlines()
    assert 10 <= len(lines) <= 32 and lines[0].startswith("full,")
    assert all(len(line.split(",")[2]) == 64 and int(line.split(",")[1]) >= 50 for line in lines)
    listing = tmp_path / "registered.jsonl"
    listing.write_text(result.stdout)
    unrelated = vectors_dir / "pdq/data/reg-test-input/labelme-subset/q0122.jpg"
    result = runner.invoke(
        app,
        [
            "match-images",
            "--registered",
            str(listing),
            str(dih / "bridge-2-rotate-90.jpg"),
            str(unrelated),
        ],
    )
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert [m["registered"] for m in found[0]["matches"]] == [record["path"]]
    assert (
        found[0]["matches"][0]["distance"] <= PDQ_ROBUST.default_threshold
        and found[1]["matches"] == []
    )


def test_plain_hash_has_no_robust_set(vectors_dir: Path) -> None:
    image = vectors_dir / "pdq/data/reg-test-input/dih/bridge-1-original.jpg"
    result = CliRunner().invoke(app, ["hash", str(image)])
    assert json.loads(result.stdout)["pdq_robust"] is None


def test_the_te_format_refuses_robust_sets_rather_than_dropping_them(vectors_dir: Path) -> None:
    image = vectors_dir / "pdq/data/reg-test-input/dih/bridge-1-original.jpg"
    result = CliRunner().invoke(app, ["hash", "--robust", "--format", "te", str(image)])
    assert result.exit_code == 2 and result.stdout == ""
    message = " ".join(result.output.replace("│", " ").split())  # the error box wraps lines
    assert "te format has one line per hash and cannot carry robust sets" in message


def test_bad_pictures_are_named_and_do_not_stop_the_batch(
    vectors_dir: Path, tmp_path: Path
) -> None:
    good = vectors_dir / "pdq/data/reg-test-input/dih/bridge-1-original.jpg"
    listing = tmp_path / "registered.jsonl"
    listing.write_text(CliRunner().invoke(app, ["hash", "--robust", str(good)]).stdout)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    result = CliRunner().invoke(
        app, ["match-images", "--registered", str(listing), str(broken), str(good)]
    )
    assert result.exit_code == 1
    assert "broken.jpg" in result.stderr
    assert len(result.stdout.splitlines()) == 1


def test_bad_registered_line_is_reported(tmp_path: Path, vectors_dir: Path) -> None:
    listing = tmp_path / "registered.jsonl"
    listing.write_text('{"path": "x", "pdq_robust": "full,90,zz"}\n')
    good = vectors_dir / "pdq/data/reg-test-input/dih/bridge-1-original.jpg"
    result = CliRunner().invoke(app, ["match-images", "--registered", str(listing), str(good)])
    assert result.exit_code == 2
    assert "registered.jsonl:1" in result.output


def test_benchmark_without_corpus_says_how_to_get_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "robustness",
            "--corpus",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "out"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
    )
    assert result.exit_code == 2
    assert "get-test-corpus.sh" in result.stderr


def test_signal_types_are_listed() -> None:
    result = CliRunner().invoke(app, ["signals", "--json"])
    assert result.exit_code == 0
    names = [row["name"] for row in json.loads(result.stdout)]
    assert names[:5] == ["pdq", "pdq_robust", "vpdq", "md5", "sha256"]
