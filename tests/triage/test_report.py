"""Triage reports: the figures, both CSVs, the VICS document (read back by stopframe's own Project
VIC reader), the offline HTML page with hostile names escaped, CSV formula guarding, the refusal
to write over unrelated files, and thumbnails only when asked for. All media are generated."""

from __future__ import annotations

import csv
import hashlib
import html
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stopframe.errors import ConfigError
from stopframe.lists.formats import projectvic
from stopframe.matching.segments import Segment
from stopframe.triage.model import (
    COMPILATION,
    EXCERPT,
    IMAGE,
    NEAR_DUPLICATE,
    PICTURE,
    RECORDING,
    REPRESENTATIVE,
    VIDEO,
    Group,
    KnownMatch,
    Overlap,
    TriageFile,
    TriageResult,
)
from stopframe.triage.report import REPORT_FILES, summary_line, write_reports

HOSTILE = "<script>alert(1)</script>.jpg"


def _hashes(text: str) -> dict[str, str]:
    return {
        "md5": hashlib.md5(text.encode()).hexdigest(),
        "sha1": hashlib.sha1(text.encode()).hexdigest(),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def _media(number: int, path: str, media_type: str, group: str, relation: str) -> TriageFile:
    return TriageFile(
        number, path, 1000 + number, "ok", media_type, "jpeg" if media_type == IMAGE else "mp4",
        width=320, height=240, duration_s=60.0 if media_type == VIDEO else None,
        group_id=group, relation=relation, **_hashes(path),
    )  # fmt: skip


@pytest.fixture
def result(tmp_path: Path) -> TriageResult:
    """Two copies of a gradient picture, an unreadable file, a recording with a trimmed copy, a
    compilation holding two stretches of it, a known picture with a hostile name, a picture whose
    file is garbage, and a non-media file whose name is a spreadsheet formula."""
    root = tmp_path / "collection"
    root.mkdir()
    ramp = np.linspace(0, 255, 200 * 120, dtype=np.uint8).reshape(120, 200)
    Image.fromarray(np.dstack([ramp, ramp[::-1], ramp])).save(root / "beach.jpg", "JPEG")
    (root / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    at = f"{root}/"
    files = [
        _media(0, at + "beach.jpg", IMAGE, "P-aaa", REPRESENTATIVE),
        _media(1, at + "copies/beach_small.jpg", IMAGE, "P-aaa", NEAR_DUPLICATE),
        TriageFile(2, at + "broken.jpg", 10, "error", error="-broken header: not a JPEG"),
        _media(3, at + "clip.mp4", VIDEO, "V-bbb", REPRESENTATIVE),
        _media(4, at + "clip_trim.mp4", VIDEO, "V-bbb", EXCERPT),
        _media(5, at + "compilation.mp4", VIDEO, "V-ccc", REPRESENTATIVE),
        _media(6, at + HOSTILE, IMAGE, "P-ddd", REPRESENTATIVE),
        _media(7, at + "garbage.jpg", IMAGE, "P-eee", REPRESENTATIVE),
        TriageFile(8, "=1+1.txt", 5, "skipped"),
    ]
    files[4].status = "partial"
    segments = (Segment(12.0, 31.5, 0.0, 19.5, 20), Segment(40.0, 45.0, 50.0, 55.0, 5))
    match = KnownMatch("partner", "bank-a", "md5", 7, 0, category="1", file_number=6)
    groups = [
        Group("P-aaa", IMAGE, PICTURE, [0, 1], 0, frame_of=["V-bbb"]),
        Group("V-bbb", VIDEO, RECORDING, [3, 4], 3),
        Group("V-ccc", VIDEO, COMPILATION, [5], 5, contains=[Overlap("V-bbb", segments)]),
        Group("P-ddd", IMAGE, PICTURE, [6], 6, known=[match]),
        Group("P-eee", IMAGE, PICTURE, [7], 7),
    ]
    return TriageResult(files, groups, lists=["partner"])


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_summary_line_counts_groups_and_mentions_skipped_files(result: TriageResult) -> None:
    assert summary_line(result) == (
        "9 files → 3 distinct pictures, 1 distinct recording (1 compilation); "
        "1 known, 4 new, 1 unreadable, 1 skipped (not media)"
    )
    many = TriageResult([TriageFile(n, f"f{n}", 1, "error") for n in range(1204)], [])
    assert summary_line(many) == "1,204 files → 0 distinct pictures, 0 distinct recordings; " + (
        "0 known, 0 new, 1,204 unreadable"
    )


def test_writes_every_report_and_no_temp_files(result: TriageResult, tmp_path: Path) -> None:
    out = tmp_path / "report"
    written = write_reports(result, out)
    assert written == [out / name for name in REPORT_FILES]
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)


def test_summary_json_has_the_figures_a_time_and_the_version(
    result: TriageResult, tmp_path: Path
) -> None:
    write_reports(result, tmp_path / "r")
    summary = json.loads((tmp_path / "r/summary.json").read_text(encoding="utf-8"))
    figures = {"files": 9, "images": 4, "videos": 3, "errors": 1, "skipped": 1}
    figures |= {"distinct_images": 3, "distinct_videos": 1, "compilations": 1}
    assert {k: summary[k] for k in figures} == figures
    assert (summary["known_groups"], summary["new_groups"]) == (1, 4)
    assert summary["generated_at"].endswith("Z") and summary["stopframe_version"]


def test_files_csv_has_every_file_and_guards_formulas(result: TriageResult, tmp_path: Path) -> None:
    write_reports(result, tmp_path / "r")
    rows = _rows(tmp_path / "r/files.csv")
    assert [r["number"] for r in rows] == [str(n) for n in range(9)]
    assert rows[8]["path"] == "'=1+1.txt" and rows[8]["group_id"] == ""
    assert rows[2]["error"] == "'-broken header: not a JPEG" and rows[2]["status"] == "error"
    assert rows[6]["known"] == "yes" and rows[0]["known"] == "no"
    assert rows[3]["sha256"] == result.files[3].sha256


def test_groups_csv_has_one_row_per_grouped_file(result: TriageResult, tmp_path: Path) -> None:
    write_reports(result, tmp_path / "r")
    rows = _rows(tmp_path / "r/groups.csv")
    assert [(r["group_id"], r["file_number"]) for r in rows] == [
        ("P-aaa", "0"), ("P-aaa", "1"), ("P-ddd", "6"), ("P-eee", "7"),
        ("V-bbb", "3"), ("V-bbb", "4"), ("V-ccc", "5"),
    ]  # fmt: skip
    by_file = {r["file_number"]: r for r in rows}
    assert by_file["0"]["representative"] == "yes" and by_file["1"]["representative"] == "no"
    assert by_file["1"]["group_size"] == "2" and by_file["4"]["relation"] == EXCERPT
    assert (by_file["6"]["known_lists"], by_file["6"]["categories"]) == ("partner/bank-a", "1")
    assert by_file["5"]["contains"] == "V-bbb@12.0-31.5;V-bbb@40.0-45.0"
    assert by_file["0"]["contains"] == "frame of V-bbb"


def test_vics_json_reads_back_with_the_project_vic_reader(
    result: TriageResult, tmp_path: Path
) -> None:
    write_reports(result, tmp_path / "r")
    data = (tmp_path / "r/vics.json").read_bytes()
    grouped = [f for f in result.files if f.groupable]
    signals = {(s.kind, s.value) for s in projectvic.parse(data).signals}
    assert signals == {(k, getattr(f, k)) for f in grouped for k in ("md5", "sha256")}
    media = json.loads(data)["value"]
    assert [m["MediaID"] for m in media] == list(range(1, len(grouped) + 1))
    known = next(m for m in media if m["stopframe"]["group_id"] == "P-ddd")
    assert known["SHA256"] == result.files[6].sha256.upper() and known["SHA1"].isupper()
    assert (known["Category"], known["IsPrecategorized"], known["IsDistributed"]) == (
        1,
        True,
        False,
    )
    (where,) = known["MediaFiles"]
    assert f"{where['FilePath']}/{where['FileName']}" == result.files[6].path
    copy = next(m for m in media if m["MediaFiles"][0]["FileName"] == "beach_small.jpg")
    assert copy["MediaFiles"][0]["FilePath"] == str(tmp_path / "collection/copies")
    assert copy["Category"] is None and copy["IsPrecategorized"] is False
    assert copy["stopframe"] == {
        "group_id": "P-aaa", "group_kind": PICTURE, "relation": NEAR_DUPLICATE,
        "representative": False,
    }  # fmt: skip


def test_html_is_offline_and_escapes_hostile_names(result: TriageResult, tmp_path: Path) -> None:
    write_reports(result, tmp_path / "r")
    page = (tmp_path / "r/report.html").read_text(encoding="utf-8")
    for external in ("http://", "https://", 'src="//', "<script"):
        assert external not in page
    assert html.escape(HOSTILE) in page
    assert "Content-Security-Policy" in page and "default-src &#x27;none&#x27;" in page
    assert "<svg" in page and "V-bbb 12.0–31.5 s" in page
    assert html.escape("-broken header: not a JPEG") in page


def test_refuses_a_folder_with_unrelated_files(result: TriageResult, tmp_path: Path) -> None:
    out = tmp_path / "case"
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ConfigError, match="notes.txt"):
        write_reports(result, out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    with pytest.raises(ConfigError, match="is a file"):
        write_reports(result, out / "notes.txt")


def test_rewrites_a_previous_report(result: TriageResult, tmp_path: Path) -> None:
    out = tmp_path / "r"
    write_reports(result, out, thumbnails=True)
    (out / ".summary.json.k2x_9q.tmp").write_bytes(b"{")  # left by a crash mid-write
    write_reports(result, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*REPORT_FILES, ".summary.json.k2x_9q.tmp"]
    )


def test_undecodable_file_names_are_kept_not_fatal(result: TriageResult, tmp_path: Path) -> None:
    result.files[0].path = "/collection/caf\udce9.jpg"  # a Latin-1 name read as UTF-8
    write_reports(result, tmp_path / "r")
    assert "caf\\udce9.jpg" in (tmp_path / "r/report.html").read_text(encoding="utf-8")
    assert _rows(tmp_path / "r/files.csv")[0]["path"] == "/collection/caf\\udce9.jpg"


def test_no_image_data_without_the_flag(result: TriageResult, tmp_path: Path) -> None:
    write_reports(result, tmp_path / "r")
    assert not (tmp_path / "r/thumbnails").exists()
    assert not [p for p in (tmp_path / "r").rglob("*") if p.suffix == ".jpg"]
    page = (tmp_path / "r/report.html").read_text(encoding="utf-8")
    assert "<img" not in page and "data:image" not in page


def test_thumbnails_only_for_pictures_that_decode(result: TriageResult, tmp_path: Path) -> None:
    written = write_reports(result, tmp_path / "r", thumbnails=True)
    thumb = tmp_path / "r/thumbnails/P-aaa.jpg"
    assert thumb in written
    assert [p.name for p in (tmp_path / "r/thumbnails").iterdir()] == ["P-aaa.jpg"]
    with Image.open(thumb) as image:
        assert image.format == "JPEG" and max(image.size) <= 160
    page = (tmp_path / "r/report.html").read_text(encoding="utf-8")
    assert 'src="thumbnails/P-aaa.jpg"' in page and page.count("<img") == 1
