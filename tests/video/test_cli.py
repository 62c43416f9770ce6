"""`stopframe hash-video` and `stopframe match-video`: output forms, verdicts and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stopframe.cli import app
from stopframe.signals.vpdq import hash_video, parse_vpdq_lines

runner = CliRunner()


def test_hash_video_prints_upstream_lines(clip: Path) -> None:
    result = runner.invoke(app, ["hash-video", str(clip), "--rate", "0.5"])
    assert result.exit_code == 0, result.output
    frames = parse_vpdq_lines(result.stdout)
    assert frames == hash_video(clip, rate=0.5).frames
    assert [f.frame_number for f in frames] == [0, 15, 30, 45]


def test_hash_video_batch_survives_bad_files(clip: Path, tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "note.txt").write_text("hello")
    result = runner.invoke(
        app,
        [
            "hash-video",
            str(tmp_path / "empty.mp4"),
            str(clip),
            str(tmp_path / "note.txt"),
            "--format",
            "jsonl",
        ],
    )
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(clip)]
    assert len(records[0]["vpdq"]) == 2 and len(records[0]["md5"]) == 32
    assert "empty.mp4: the file is empty" in result.stderr
    assert "note.txt" in result.stderr


def test_match_video_on_hash_files(vpdq_dir: Path) -> None:
    hashes = vpdq_dir / "sample-hashes"
    result = runner.invoke(
        app,
        [
            "match-video",
            str(hashes / "chair-19-sd-bar.txt"),
            str(hashes / "chair-20-sd-bar.txt"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert (record["query_match_pct"], record["compared_match_pct"], record["match"]) == (
        100.0,
        92.76,
        True,
    )
    strict = runner.invoke(
        app,
        [
            "match-video",
            str(hashes / "chair-19-sd-bar.txt"),
            str(hashes / "chair-20-sd-bar.txt"),
            "--compared-threshold",
            "95",
        ],
    )
    assert strict.exit_code == 1 and "no match" in strict.stdout and "92.76%" in strict.stdout


@pytest.mark.video
def test_match_video_video_against_hash_file(vpdq_dir: Path) -> None:
    pytest.importorskip("av")
    video = vpdq_dir / "sample-videos" / "pattern-sd-grey-bar.mp4"
    hashes = vpdq_dir / "sample-hashes" / "pattern-sd-grey-bar.txt"
    result = runner.invoke(
        app, ["match-video", str(video), str(hashes), "--rate", "0", "--keep-bars"]
    )
    assert result.exit_code == 0 and "MATCH" in result.stdout


def test_match_video_bad_input(tmp_path: Path, clip: Path) -> None:
    (tmp_path / "bad.txt").write_text("0,100,nothex,0.0\n")
    result = runner.invoke(app, ["match-video", str(clip), str(tmp_path / "bad.txt")])
    assert result.exit_code == 2 and "line 1" in result.stderr
