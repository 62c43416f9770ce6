"""`stopframe case` end to end against a real registry on loopback: open (anonymously and with a
key), add real `stopframe hash` output of benign pictures, status, withdraw, and the errors a
case holder meets (wrong PIN, no registry, rate limit, bad input)."""

from __future__ import annotations

import io
import json
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from tests.loopback import free_port, serving
from typer.testing import CliRunner

from stopframe.apps.intake.records import RecordsError, read_records
from stopframe.apps.registry.app import create_app
from stopframe.apps.registry.services import keys
from stopframe.apps.registry.state import Registry, open_registry
from stopframe.apps.registry.terms import Scope
from stopframe.cli import app
from stopframe.config import RegistrySettings
from stopframe.samples import sample_images

runner = CliRunner()


@dataclass
class LiveRegistry:
    """A registry served on a loopback port, and the registry itself for looking inside."""

    reg: Registry
    url: str


@contextmanager
def start(tmp_path: Path, **overrides: object) -> Iterator[LiveRegistry]:
    settings = RegistrySettings(
        data_dir=tmp_path / "registry",
        pin_scrypt_n=1024,
        intake_pow_bits=8,
        **overrides,  # type: ignore[arg-type]
    )
    reg = open_registry(settings)
    try:
        with serving(create_app(registry=reg)) as url:
            yield LiveRegistry(reg, url)
    finally:
        reg.db.dispose()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LiveRegistry]:
    with start(tmp_path) as live:
        yield live


@pytest.fixture
def hashes(tmp_path: Path) -> Path:
    """`stopframe hash` JSON lines of the sample pictures, a copy of one, and a file that is
    not media (an error record)."""
    folder = tmp_path / "my pictures"
    folder.mkdir()
    images = sample_images()
    for image in images[:3]:
        shutil.copy(image, folder / image.name)
    shutil.copy(images[0], folder / "copy-of-first.jpg")
    (folder / "notes.txt").write_text("a note, not a picture\n")
    names = [folder / p.name for p in images[:3]]
    paths = [*names, folder / "copy-of-first.jpg", folder / "notes.txt"]
    out = tmp_path / "hashes.jsonl"
    hashed = runner.invoke(app, ["hash", "--robust", "-o", str(out), *map(str, paths)])
    assert hashed.exit_code == 1  # the text file is not media
    return out


def test_open_add_status_withdraw(registry: LiveRegistry, hashes: Path, tmp_path: Path) -> None:
    case_file = tmp_path / "case.json"
    opened = runner.invoke(
        app, ["case", "open", "--registry", registry.url, "--save", str(case_file)]
    )
    assert opened.exit_code == 0, opened.output
    assert "cannot show the PIN again" in opened.stderr
    saved = json.loads(case_file.read_text())
    assert saved["registry"] == registry.url
    assert f"case number: {saved['case_number']}" in opened.stdout
    assert f"PIN:         {saved['pin']}" in opened.stdout
    assert stat.S_IMODE(case_file.stat().st_mode) == 0o600

    again = runner.invoke(
        app, ["case", "open", "--registry", registry.url, "--save", str(case_file)]
    )
    assert again.exit_code == 2 and "not overwritten" in again.stderr

    added = runner.invoke(app, ["case", "add", str(hashes), "--case-file", str(case_file)])
    assert added.exit_code == 0, added.output
    lines = [line.split("\t") for line in added.stdout.splitlines()]
    assert [media for _, media, _ in lines] == ["photo"] * 4
    ids = [int(item.removeprefix("item ")) for item, _, _ in lines]
    assert ids[0] == ids[3] and len(set(ids)) == 3  # a copy of a file is the same item
    assert "skipped" in added.stderr and "notes.txt" in added.stderr
    assert "3 new item(s)" in added.stderr

    status = runner.invoke(app, ["case", "status", "--json", "--case-file", str(case_file)])
    body = json.loads(status.stdout)
    assert (body["items_active"], body["items_withdrawn"]) == (3, 0)
    assert body["items"][0]["kinds"] == ["md5", "pdq", "pdq_robust", "sha256"]

    gone = runner.invoke(app, ["case", "withdraw", str(ids[1]), "--case-file", str(case_file)])
    assert gone.exit_code == 0 and f"item {ids[1]} withdrawn at" in gone.stdout
    table = runner.invoke(app, ["case", "status", "--case-file", str(case_file)])
    assert table.exit_code == 0 and "2 active, 1 withdrawn" in table.stdout

    with registry.reg.db.read() as session:  # only hashes went out: no name, no path
        dumped = " ".join(
            str(row)
            for name in ("entries", "items", "audit_log", "cases")
            for row in session.execute(text(f"SELECT * FROM {name}"))
        )
    assert "my pictures" not in dumped and ".jpg" not in dumped and "notes" not in dumped


def test_pin_from_the_environment_and_from_stdin(registry: LiveRegistry, hashes: Path) -> None:
    opened = runner.invoke(app, ["case", "open", "--registry", registry.url])
    number = opened.stdout.split("case number: ")[1].split()[0]
    pin = opened.stdout.split("PIN:")[1].split()[0]
    where = ["--registry", registry.url, "--case-number", number.lower()]
    piped = runner.invoke(
        app,
        ["case", "add", "-", *where],
        input=hashes.read_text(),
        env={"STOPFRAME_CASE_PIN": pin},
    )
    assert piped.exit_code == 0, piped.output
    prompted = runner.invoke(app, ["case", "status", "--json", *where], input=f"{pin}\n")
    assert prompted.exit_code == 0 and json.loads(prompted.stdout.split("\n", 1)[1])["items"]
    wrong = runner.invoke(app, ["case", "status", *where], env={"STOPFRAME_CASE_PIN": "1234"})
    assert wrong.exit_code == 1 and "case number or PIN is wrong" in wrong.stderr


def test_open_with_an_api_key(registry: LiveRegistry) -> None:
    with registry.reg.db.write() as session:
        key = keys.create_key(session, "ngo", [Scope.SUBMIT], "test").key
    opened = runner.invoke(
        app, ["case", "open", "--registry", registry.url], env={"STOPFRAME_API_KEY": key}
    )
    assert opened.exit_code == 0 and "case number: SF-" in opened.stdout
    bad = runner.invoke(app, ["case", "open", "--registry", registry.url, "--key", "sfk_x_y"])
    assert bad.exit_code == 1 and "refused the credentials" in bad.stderr


def test_rate_limits_and_unreachable_registries_are_explained(tmp_path: Path) -> None:
    with start(tmp_path, intake_cases_per_hour=1) as live:
        assert runner.invoke(app, ["case", "open", "--registry", live.url]).exit_code == 0
        limited = runner.invoke(app, ["case", "open", "--registry", live.url])
        assert limited.exit_code == 1 and "too many requests" in limited.stderr
        assert "try again in" in limited.stderr
    nowhere = f"http://127.0.0.1:{free_port()}"
    offline = runner.invoke(app, ["case", "open", "--registry", nowhere])
    assert offline.exit_code == 1 and "not reachable" in offline.stderr
    no_scheme = runner.invoke(app, ["case", "open", "--registry", "127.0.0.1:1"])
    assert no_scheme.exit_code == 2


def test_bad_input_and_missing_credentials_are_usage_errors(tmp_path: Path) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text('{"registry": "http://127.0.0.1:9", "case_number": "SF-X", "pin": "1"}')
    te = tmp_path / "hashes.te"
    te.write_text("pdq " + "ab" * 32 + "\n")
    refused = runner.invoke(app, ["case", "add", str(te), "--case-file", str(case_file)])
    assert refused.exit_code == 2 and "not `stopframe hash` output" in refused.stderr
    assert runner.invoke(app, ["case", "status"]).exit_code == 2
    not_json = tmp_path / "not-a-case.json"
    not_json.write_text("[]")
    assert runner.invoke(app, ["case", "status", "--case-file", str(not_json)]).exit_code == 2


def test_records_read_jsonl_and_csv_alike(tmp_path: Path) -> None:
    images = [str(p) for p in sample_images()[:2]]
    outputs = {}
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"hashes.{fmt}"
        assert runner.invoke(app, ["hash", "-f", fmt, "-o", str(out), *images]).exit_code == 0
        with out.open(encoding="utf-8") as stream:
            outputs[fmt] = read_records(stream)
    jsonl, csv = outputs["jsonl"], outputs["csv"]
    assert [i.item.body() for i in jsonl.items] == [i.item.body() for i in csv.items]
    first = jsonl.items[0].item.body()
    assert set(first) == {"media", "signals"} and first["media"] == "photo"
    assert [s["kind"] for s in first["signals"]] == ["pdq", "md5", "sha256"]
    assert first["signals"][0]["quality"] is not None
    broken = io.StringIO('{"path": "a", "status": "ok", "pdq": "xyz"}\n')
    with pytest.raises(RecordsError, match="line 1: pdq"):
        read_records(broken)
    with pytest.raises(RecordsError, match="line 2: not a JSON record"):
        read_records(io.StringIO('{"status": "ok"}\nnot json\n'))


def test_a_video_becomes_a_video_item(
    registry: LiveRegistry, vectors_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("av", reason="PyAV is not installed")
    clip = vectors_dir / "vpdq" / "sample-videos" / "doorknob-hd-no-bar.mp4"
    out = tmp_path / "clip.jsonl"
    assert runner.invoke(app, ["hash", "-o", str(out), str(clip)]).exit_code == 0
    case_file = tmp_path / "case.json"
    runner.invoke(app, ["case", "open", "--registry", registry.url, "--save", str(case_file)])
    added = runner.invoke(app, ["case", "add", str(out), "--case-file", str(case_file)])
    assert added.exit_code == 0, added.output
    assert added.stdout.split("\t")[1] == "video"
    status = json.loads(
        runner.invoke(app, ["case", "status", "--json", "--case-file", str(case_file)]).stdout
    )
    assert status["items"][0]["kinds"] == ["md5", "sha256", "vpdq"]


def test_add_splits_requests_by_the_size_of_their_values() -> None:
    from stopframe.apps.intake.client import ItemToSend
    from stopframe.apps.intake.records import LocalItem
    from stopframe.cli.case import BATCH, BATCH_CHARS, _batches
    from stopframe.signals import Signal

    def item(chars: int) -> LocalItem:
        return LocalItem("clip.mp4", ItemToSend("video", [Signal("vpdq", "0" * chars, None)]))

    long = [item(BATCH_CHARS // 2 + 1) for _ in range(5)]
    assert [len(batch) for batch in _batches(long)] == [1, 1, 1, 1, 1]
    small = [item(10) for _ in range(BATCH + 1)]
    assert [len(batch) for batch in _batches(small)] == [BATCH, 1]
    assert [len(b) for b in _batches([item(BATCH_CHARS * 2), item(10)])] == [1, 1]
