"""`stopframe demo` end to end: every stage passes on a fresh work folder (real registry and
matcher processes on loopback), a broken stage makes it exit 1 naming that stage with no
service left running, and the media it makes holds what its checks expect."""

from __future__ import annotations

import base64
import importlib.util
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from typer.testing import CliRunner

import stopframe.demo.run as demo_run
from stopframe.cli import app
from stopframe.demo import DemoOptions, run_demo
from stopframe.demo.media import make_media

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("av") is None or importlib.util.find_spec("fastapi") is None,
    reason="the demo needs the video, registry and matcher extras",
)
runner = CliRunner()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_every_stage_passes_and_stops_its_services(tmp_path: Path) -> None:
    seen: list[str] = []
    run = run_demo(DemoOptions(tmp_path / "work"), lambda name, state: seen.append(name))
    assert run.failure is None, run.failure
    assert [d.decision for d in run.decisions] == [d.upload.expect for d in run.decisions]
    assert {d.decision for d in run.decisions} == {"block", "none"}
    assert all(item["acted_on"] > 0 for item in run.status["items"])
    assert run.triage["errors"] == 0 and run.triage["known_groups"] > 0
    assert (tmp_path / "work" / "triage-report" / "report.html").is_file()
    assert "triage" in seen
    assert not run.services.running


def _stranger_trust(published: list[dict[str, object]]) -> dict[str, str]:
    """A trust file pinning a key the registry never signed with: every list is refused."""
    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {str(key["key_id"]): base64.b64encode(public).decode() for key in published}


def test_a_matcher_that_cannot_sync_fails_the_demo_naming_the_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_run, "pinned_keys", _stranger_trust)
    started: list[int] = []
    real_start = demo_run.Services.start

    def start(self: demo_run.Services, *args: object, **kwargs: object) -> demo_run.Service:
        service = real_start(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(service.process.pid)
        return service

    monkeypatch.setattr(demo_run.Services, "start", start)
    work = tmp_path / "work"
    result = runner.invoke(app, ["demo", "--work", str(work), "--timeout", "8"])
    assert result.exit_code == 1, result.output
    assert "stage 'matcher sync' failed" in result.stderr
    assert "did not list the case's hashes" in result.stderr
    assert len(started) == 2 and all(_gone(pid) for pid in started)


def test_the_media_holds_what_the_checks_expect(tmp_path: Path) -> None:
    media = make_media(tmp_path)
    assert len(media.victim) == 4 and media.victim[-1].suffix == ".mp4"
    expected = [u.expect for u in media.uploads]
    assert expected.count("block") >= 6 and expected.count("none") >= 3
    assert media.withdrawn_upload.copy_of == media.withdrawn.name
    seized = [p for p in media.seized.rglob("*") if p.is_file()]
    assert len(seized) == sum(u.seized for u in media.uploads) + 3
    truth = media.seized_truth
    assert (truth.pictures, truth.recordings, truth.known) == (6, 2, 3)


def test_a_work_folder_in_use_is_refused(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("kept")
    result = runner.invoke(app, ["demo", "--work", str(tmp_path)])
    assert result.exit_code == 2
    assert "not empty" in result.stderr
    assert (tmp_path / "something").read_text() == "kept"
