"""`stopframe hash` and `stopframe quickstart` end to end: formats, ordering, exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stopframe.cli import app
from stopframe.samples import sample_images

runner = CliRunner()


@pytest.fixture()
def batch(tmp_path: Path) -> Path:
    """A folder with the sample images, a corrupt JPEG in the middle and a sub-folder."""
    folder = tmp_path / "batch"
    (folder / "sub").mkdir(parents=True)
    images = sample_images()
    for image in images[:2]:
        shutil.copy(image, folder / image.name)
    for image in images[2:]:
        shutil.copy(image, folder / "sub" / image.name)
    (folder / "broken.jpg").write_bytes(images[0].read_bytes()[:500])
    return folder


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_bad_file_does_not_stop_the_batch_and_exits_1(batch: Path) -> None:
    result = runner.invoke(app, ["hash", str(batch)])
    assert result.exit_code == 1, result.output
    records = _jsonl(result.stdout)
    assert [Path(r["path"]).name for r in records] == [
        "bridge.jpg",
        "broken.jpg",
        "q0122.jpg",
        "q0291.jpg",
        "q1050.jpg",
    ]  # sorted by name at each level, folders entered where they sort
    broken = records.pop(1)
    assert broken["status"] == "error" and "cannot decode jpeg" in broken["error"]
    assert all(r["status"] == "ok" and len(r["pdq"]) == 64 for r in records)
    assert "broken.jpg" in result.stderr


def test_all_good_exits_0_and_parallel_order_is_stable(batch: Path) -> None:
    (batch / "broken.jpg").unlink()
    serial = runner.invoke(app, ["hash", str(batch), "--jobs", "1"])
    parallel = runner.invoke(app, ["hash", str(batch), "--jobs", "2"])
    assert serial.exit_code == parallel.exit_code == 0
    assert serial.stdout == parallel.stdout


def test_csv_and_te_formats_parse(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "hashes.csv"
    result = runner.invoke(
        app, ["hash", str(batch), "--format", "csv", "-o", str(out), "--dihedral"]
    )
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 5 and rows[0]["status"] == "ok" and rows[1]["status"] == "error"
    assert json.loads(rows[0]["dihedral"])["original"] == rows[0]["pdq"]
    te = runner.invoke(app, ["hash", str(batch), "--format", "te", "--path", "reference"])
    lines = te.stdout.splitlines()
    assert len(lines) == 4 and all(re.fullmatch(r"pdq [0-9a-f]{64}", line) for line in lines)


def test_non_media_in_folders_is_skipped_but_named_files_fail(batch: Path) -> None:
    (batch / "broken.jpg").unlink()
    (batch / "notes.txt").write_text("shopping list\n")
    walked = runner.invoke(app, ["hash", str(batch)])
    assert walked.exit_code == 0
    statuses = {Path(r["path"]).name: r["status"] for r in _jsonl(walked.stdout)}
    assert statuses["notes.txt"] == "skipped" and statuses["bridge.jpg"] == "ok"
    named = runner.invoke(app, ["hash", str(batch / "notes.txt")])
    assert named.exit_code == 1 and _jsonl(named.stdout)[0]["status"] == "error"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_and_unreadable_files(batch: Path) -> None:
    (batch / "sub" / "loop").symlink_to(batch, target_is_directory=True)
    (batch / "dangling.jpg").symlink_to(batch / "missing.jpg")
    result = runner.invoke(app, ["hash", str(batch)])
    records = _jsonl(result.stdout)
    assert result.exit_code == 1
    assert len(records) == 6  # each real file once, plus the dangling link
    dangling = next(r for r in records if r["path"].endswith("dangling.jpg"))
    assert "cannot read file" in dangling["error"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["hash"]).exit_code == 2
    assert runner.invoke(app, ["hash", str(tmp_path), "--format", "xml"]).exit_code == 2
    assert runner.invoke(app, ["hash", str(tmp_path), "--jobs", "0"]).exit_code == 2
    assert runner.invoke(app, ["quickstart", str(tmp_path / "absent")]).exit_code == 2


def test_quickstart_hashes_the_samples(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STOPFRAME_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(app, ["quickstart"])
    assert result.exit_code == 0, result.output
    written = tmp_path / "data" / "quickstart-hashes.jsonl"
    records = _jsonl(written.read_text())
    assert len(records) == len(sample_images()) >= 3
    assert all(r["status"] == "ok" for r in records)
    assert "bridge.jpg" in result.stdout and str(written) in result.stdout.replace("\n", "")
    assert records[0]["pdq"] in result.stdout.replace("\n", "").replace("│", "").replace(" ", "")


def test_quickstart_on_a_folder(batch: Path, tmp_path: Path) -> None:
    out = tmp_path / "q.jsonl"
    result = runner.invoke(app, ["quickstart", str(batch), "--output", str(out)])
    assert result.exit_code == 1  # the broken file
    assert len(_jsonl(out.read_text())) == 5
