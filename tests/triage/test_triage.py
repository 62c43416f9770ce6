"""Triage end to end on a small generated collection: groups, compilations with their time
ranges, order independence, the cache, untouched evidence, hostile files and list checks."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from tests.triage.conftest import scene, write_picture, write_recording
from typer.testing import CliRunner

from stopframe.cli import app
from stopframe.errors import ConfigError
from stopframe.hashing.files import hash_file
from stopframe.triage import TriageFile, TriageOptions, TriageResult, run_triage
from stopframe.triage.groups import group_files
from stopframe.triage.model import (
    COMPILATION,
    EXACT_COPY,
    IMAGE,
    RECORDING,
    REPRESENTATIVE,
)

pytest.importorskip("av")

A, B, C = range(100, 112), range(200, 212), range(300, 310)  # the scenes of three recordings


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seized collection: 3 pictures (one with 5 copies), 3 recordings (one with a rescaled
    copy and a trim), a compilation of two, a frame grab, and 4 files that are not media."""
    root = tmp_path_factory.mktemp("evidence")
    photos, videos, misc = root / "DCIM" / "photos", root / "DCIM" / "videos", root / "misc"
    for folder in (photos, videos, misc):
        folder.mkdir(parents=True)
    original = write_picture(photos / "IMG_0001.jpg", 1, quality=92)
    shutil.copy(original, misc / "IMG_0001 (copy).jpg")
    with Image.open(original) as image:
        image.resize((320, 240)).save(photos / "IMG_0001_small.jpg", quality=70)
        ImageOps.mirror(image).save(misc / "mirrored.png")
        padded = Image.new("RGB", (640, 640), (0, 0, 0))
        padded.paste(image, (0, 80))
        padded.save(misc / "letterboxed.webp", quality=90)
        width, height = image.size
        image.crop((int(width * 0.06), 0, width, height)).save(photos / "IMG_0001_crop.jpg")
    write_picture(photos / "IMG_0002.jpg", 2)
    write_picture(misc / "IMG_0003.png", 3)
    Image.fromarray(scene(104)).save(photos / "frame_grab.jpg", quality=90)
    write_recording(videos / "rec_a.mp4", A)
    write_recording(videos / "rec_a_small.mp4", A, size=(128, 96))
    write_recording(videos / "rec_a_trim.mp4", A[2:11])
    write_recording(videos / "rec_b.mp4", B)
    write_recording(videos / "rec_c.mp4", C)
    write_recording(videos / "compilation.mp4", [*A[2:8], *B[3:9]])
    (misc / "broken.jpg").write_bytes(original.read_bytes()[:1500])
    (misc / "empty.jpg").write_bytes(b"")
    (misc / "cut.mp4").write_bytes((videos / "rec_b.mp4").read_bytes()[:2000])
    (misc / "notes.txt").write_text("shopping list\n")
    return root


def triage(paths: list[Path], cache: Path, **options: object) -> TriageResult:
    return run_triage(paths, TriageOptions(cache=cache, **options))  # type: ignore[arg-type]


def named_groups(result: TriageResult) -> dict[str, set[str]]:
    """Each group's id with its members' names."""
    return {g.id: {Path(result.files[m].path).name for m in g.members} for g in result.groups}


def group_of(result: TriageResult, name: str) -> str:
    found = [f.group_id for f in result.files if Path(f.path).name == name]
    assert len(found) == 1 and found[0]
    return found[0]


@pytest.fixture(scope="module")
def result(evidence: Path, tmp_path_factory: pytest.TempPathFactory) -> TriageResult:
    cache = tmp_path_factory.mktemp("cache") / "cache.sqlite3"
    return triage([evidence], cache, jobs=2)


def test_counts_distinct_pictures_and_recordings(result: TriageResult) -> None:
    summary = result.summary()
    assert summary["files"] == 19
    assert summary["images"] == 9 and summary["videos"] == 6
    assert summary["errors"] == 3 and summary["skipped"] == 1
    assert summary["distinct_images"] == 4  # IMG_0001 and copies, IMG_0002, IMG_0003, the grab
    assert summary["distinct_videos"] == 3 and summary["compilations"] == 1
    assert [f.number for f in result.files] == list(range(19))  # numbered in path order
    assert [f.path for f in result.files] == sorted(f.path for f in result.files)


def test_copies_of_a_picture_are_one_group(result: TriageResult) -> None:
    group = result.group(group_of(result, "IMG_0001.jpg"))
    assert named_groups(result)[group.id] == {
        "IMG_0001.jpg", "IMG_0001 (copy).jpg", "IMG_0001_small.jpg", "mirrored.png",
        "letterboxed.webp", "IMG_0001_crop.jpg",
    }  # fmt: skip
    relations = {Path(result.files[m].path).name: result.files[m].relation for m in group.members}
    assert relations["IMG_0001.jpg"] == REPRESENTATIVE  # largest without borders, first by path
    assert relations["IMG_0001 (copy).jpg"] == EXACT_COPY
    assert (
        group.id
        == "P-"
        + hashlib.sha256(
            next(
                Path(f.path) for f in result.files if f.number == group.representative
            ).read_bytes()
        ).hexdigest()[:12]
    )


def test_recordings_trims_and_compilations(result: TriageResult) -> None:
    a = group_of(result, "rec_a.mp4")
    assert named_groups(result)[a] == {"rec_a.mp4", "rec_a_small.mp4", "rec_a_trim.mp4"}
    assert result.group(a).kind == RECORDING
    b, c = group_of(result, "rec_b.mp4"), group_of(result, "rec_c.mp4")
    assert len({a, b, c}) == 3
    compilation = result.group(group_of(result, "compilation.mp4"))
    assert compilation.kind == COMPILATION
    parts = {overlap.other: overlap.segments for overlap in compilation.contains}
    assert set(parts) == {a, b}
    # seconds 0-6 of the compilation are seconds 2-8 of A, seconds 6-12 are 3-9 of B
    for other, (start, end, other_start) in ((a, (0, 6, 2)), (b, (6, 12, 3))):
        (segment,) = parts[other]
        assert abs(segment.start_s - start) <= 2 and abs(segment.end_s - end) <= 2
        assert abs(segment.other_start_s - other_start) <= 2


def test_a_frame_grab_is_linked_to_its_recording(result: TriageResult) -> None:
    grab = result.group(group_of(result, "frame_grab.jpg"))
    assert grab.frame_of == sorted(
        [group_of(result, "rec_a.mp4"), group_of(result, "compilation.mp4")]
    )
    assert result.group(group_of(result, "IMG_0002.jpg")).frame_of == []


def test_hostile_files_are_recorded_and_the_run_goes_on(result: TriageResult) -> None:
    errors = {Path(f.path).name: f.error for f in result.files if f.status == "error"}
    assert set(errors) == {"broken.jpg", "empty.jpg", "cut.mp4"}
    assert all(errors.values())
    assert all(f.group_id is None for f in result.files if f.status != "ok")


def _groups_by_path(result: TriageResult) -> dict[str, frozenset[str]]:
    return {g.id: frozenset(result.files[m].path for m in g.members) for g in result.groups}


def test_order_of_the_input_does_not_change_the_groups(
    evidence: Path, result: TriageResult, tmp_path: Path
) -> None:
    folders = sorted(p for p in evidence.rglob("*") if p.is_dir() and p.name != "DCIM")
    files = [p for p in evidence.rglob("*") if p.is_file()]
    random.Random(7).shuffle(files)
    for paths in (folders[::-1], files):
        other = triage(paths, tmp_path / "cache.sqlite3")
        assert _groups_by_path(other) == _groups_by_path(result)
        assert [g.contains for g in other.groups] == [g.contains for g in result.groups]


def test_second_run_reads_the_cache_and_gives_the_same_result(
    evidence: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite3"
    first = triage([evidence], cache)
    second = triage([evidence], cache)
    assert first.cached == 0 and second.cached == len(second.files) == 19
    assert second.files == first.files and second.groups == first.groups
    touched = evidence / "DCIM" / "photos" / "IMG_0002.jpg"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    third = triage([evidence], cache)
    assert third.cached == 18  # a changed file is hashed again


def test_an_interrupted_run_resumes_from_what_it_had_hashed(evidence: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite3"

    def stop_after_eight(done: int, total: int) -> None:
        if done >= 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        triage([evidence], cache, progress=stop_after_eight)
    resumed = triage([evidence], cache)
    assert 8 <= resumed.cached < 19
    assert named_groups(resumed) == named_groups(triage([evidence], tmp_path / "fresh.sqlite3"))


def _fingerprint(root: Path) -> dict[str, tuple[str, int, int]]:
    return {
        str(p.relative_to(root)): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder",
            p.stat().st_size if p.is_file() else 0,
            p.stat().st_mtime_ns,
        )
        for p in sorted(root.rglob("*"))
    }


def test_evidence_folders_are_never_written(evidence: Path, tmp_path: Path) -> None:
    before = _fingerprint(evidence)
    runner = CliRunner()
    out = tmp_path / "report"
    args = ["triage", str(evidence), "--cache", str(tmp_path / "c.sqlite3"), "--out", str(out)]
    outcome = runner.invoke(app, [*args, "--thumbnails"])
    assert outcome.exit_code == 1, outcome.output  # three files could not be read
    assert _fingerprint(evidence) == before
    for target in ("--cache", "--out"):
        inside = [*args]
        inside[inside.index(target) + 1] = str(evidence / "misc" / "triage-out")
        refused = runner.invoke(app, inside)
        assert refused.exit_code == 2 and "never writes into evidence" in refused.output
    assert _fingerprint(evidence) == before
    with pytest.raises(ConfigError):
        triage([evidence], evidence / "DCIM" / "cache.sqlite3")


def test_cli_summary_and_report_files(evidence: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    args = ["triage", str(evidence), "--cache", str(tmp_path / "c.sqlite3"), "--out", str(out)]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 1
    assert "19 files → 4 distinct pictures, 3 distinct recordings" in outcome.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["distinct_videos"] == 3 and summary["errors"] == 3
    rows = (out / "groups.csv").read_text().splitlines()
    assert len(rows) == 1 + 15  # one per readable media file
    as_json = CliRunner().invoke(app, [*args[:4], "--json"])
    assert json.loads(as_json.stdout)["distinct_images"] == 4


def _pdq_of(path: Path) -> str:
    value = hash_file(path).value("pdq")
    assert value
    return value


def test_groups_are_known_from_partner_lists(evidence: Path, tmp_path: Path) -> None:
    small = evidence / "DCIM" / "photos" / "IMG_0001_small.jpg"
    vics = tmp_path / "vics.json"
    md5 = hashlib.md5(small.read_bytes()).hexdigest()
    vics.write_text(json.dumps({"value": [{"MediaID": 1, "MD5": md5.upper(), "Category": 1}]}))
    te = tmp_path / "te.csv"
    te.write_text(f"signal_type,signal\npdq,{_pdq_of(evidence / 'misc' / 'IMG_0003.png')}\n")
    result = run_triage(
        [evidence],
        TriageOptions(
            cache=tmp_path / "c.sqlite3",
            partners=(
                _partner("vic", "projectvic-json", vics),
                _partner("te", "threatexchange-csv", te),
            ),
        ),
    )
    known = {g.id: g.known for g in result.groups if g.known}
    first, third = group_of(result, "IMG_0001.jpg"), group_of(result, "IMG_0003.png")
    assert set(known) == {first, third}
    (match,) = known[first]
    assert (match.source, match.kind, match.category) == ("vic", "md5", "1")
    assert result.files[match.file_number].path == str(small)
    assert [(k.source, k.kind, k.distance) for k in known[third]] == [("te", "pdq", 0)]
    assert result.summary()["known_groups"] == 2 and result.lists == ["vic", "te"]


def _partner(bank: str, fmt: str, path: Path):  # type: ignore[no-untyped-def]
    from stopframe.apps.matcher.sources import PartnerSource

    return PartnerSource(bank, fmt, path)


def test_a_bad_partner_list_is_a_clear_error(evidence: Path, tmp_path: Path) -> None:
    broken = tmp_path / "list.json"
    broken.write_text("{not json")
    outcome = CliRunner().invoke(
        app,
        ["triage", str(evidence), "--cache", str(tmp_path / "c.sqlite3"),
         "--list", f"vic=projectvic-json:{broken}"],
    )  # fmt: skip
    assert outcome.exit_code == 2
    assert "list.json" in outcome.output and "not JSON" in outcome.output


def test_group_ids_stay_distinct_when_sha256_prefixes_coincide() -> None:
    rng = np.random.default_rng(4)
    files = [
        TriageFile(
            number=n,
            path=f"p{n}.jpg",
            size=10,
            status="ok",
            media_type=IMAGE,
            sha256="ab" * 6 + f"{n:x}" + "0" * 51,
            pdq=rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex(),
            quality=100,
        )
        for n in range(3)
    ]
    groups = group_files(files)
    assert len(groups) == 3 and len({g.id for g in groups}) == 3
    assert all(g.id.startswith("P-" + "ab" * 6) and len(g.id) == 2 + 16 for g in groups)
    assert [f.group_id for f in files] == [g.id for g in sorted(groups, key=lambda g: g.members)]


def test_list_checks_compare_videos_at_one_frame_a_second() -> None:
    from stopframe.triage.known import list_vpdq

    code = "ab" * 32
    dense = "\n".join(f"{n},100,{code},{n / 10:.3f}" for n in range(25))
    assert [line.split(",")[-1] for line in list_vpdq(dense).splitlines()] == [
        "0.000",
        "1.000",
        "2.000",
    ]
