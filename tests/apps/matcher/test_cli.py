"""The matcher's commands: `stopframe matcher create-key` (a key that authenticates, scopes
checked), `stopframe matcher sync` (its JSON report and exit codes), `stopframe match` (jsonl
and csv per file, exit codes 0/1/2/3, one clear error for a store with no lists), and, marked
slow, `stopframe matcher serve` with two workers: ready, answering, following a partner file,
and gone with its children after SIGTERM."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.apps.matcher.conftest import BANK, FORMAT, Picture, write_list
from tests.loopback import free_port
from typer.testing import CliRunner, Result

from stopframe.apps.matcher.keys import authorize
from stopframe.apps.matcher.state import MatcherState, state_path
from stopframe.cli import app
from stopframe.errors import Forbidden
from stopframe.matching.generations import read_current


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def source(path: Path) -> str:
    return f"{BANK}={FORMAT}:{path}"


# -- create-key --------------------------------------------------------------------------------
def test_create_key_prints_a_key_that_authenticates_with_its_scopes(tmp_path: Path) -> None:
    data_dir = tmp_path / "matcher"
    result = run("matcher", "create-key", "--scope", "match", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("sfm_") and "\n" not in key
    both = run(
        "matcher", "create-key", "--scope", "match", "--scope", "admin", "--name", "ops",
        "--data-dir", str(data_dir),
    ).stdout.strip()  # fmt: skip
    with MatcherState.open(state_path(data_dir)) as state:
        assert authorize(state, key, "match").scopes == frozenset({"match"})
        with pytest.raises(Forbidden):
            authorize(state, key, "admin")
        assert authorize(state, both, "admin").name == "ops"
        stored = state.fetchall("SELECT key_hash FROM api_keys")
    assert len(stored) == 2 and key not in json.dumps(stored)  # only its hash is kept


@pytest.mark.parametrize("scope", ["owner", "MATCH"])
def test_create_key_refuses_an_unknown_scope(tmp_path: Path, scope: str) -> None:
    result = run("matcher", "create-key", "--scope", scope, "--data-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "scopes must be some of admin, match" in result.output
    assert "sfm_" not in result.stdout


@pytest.mark.parametrize("command", ["create-key", "sync"])
def test_a_data_dir_that_cannot_be_made_is_a_usage_error(tmp_path: Path, command: str) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("not a folder")
    args = ["--scope", "match"] if command == "create-key" else ["--source", source(taken)]
    result = run("matcher", command, *args, "--data-dir", str(taken))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "File exists" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback


# -- sync ----------------------------------------------------------------------------------------
def test_sync_reports_each_source_as_json(tmp_path: Path, pictures: list[Picture]) -> None:
    path = write_list(tmp_path / "p.txt", [("pdq", pictures[0].pdq), ("md5", pictures[0].md5)])
    data_dir = str(tmp_path / "matcher")
    result = run("matcher", "sync", "--source", source(path), "--data-dir", data_dir)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["sources"] == {BANK: {"sequence": 2, "entries": 2, "error": None}}
    current = read_current(tmp_path / "matcher" / "index")
    assert current is not None and report["generation"] == current.generation

    again = run("matcher", "sync", "--source", source(path), "--data-dir", data_dir)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == report  # nothing new: the generation it serves is the same

    path.write_text("pdq nothex\n")
    failed = run("matcher", "sync", "--source", source(path), "--data-dir", data_dir)
    assert failed.exit_code == 1
    assert "line 1: pdq must be" in json.loads(failed.stdout)["sources"][BANK]["error"]


def test_a_failed_sync_reports_the_entries_that_keep_serving(
    tmp_path: Path, pictures: list[Picture]
) -> None:
    path = write_list(tmp_path / "p.txt", [("pdq", pictures[0].pdq), ("md5", pictures[0].md5)])
    data_dir = str(tmp_path / "matcher")
    assert run("matcher", "sync", "--source", source(path), "--data-dir", data_dir).exit_code == 0
    path.write_text("pdq nothex\n")
    failed = run("matcher", "sync", "--source", source(path), "--data-dir", data_dir)
    assert failed.exit_code == 1
    assert json.loads(failed.stdout)["sources"][BANK]["entries"] == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "no list source"),
        (("--source", "nonsense"), "expected BANK=FORMAT:PATH"),
        (("--source", f"{BANK}=nope:/x"), "unknown format"),
        (("--registry", "http://127.0.0.1:9"), "--registry-key and --trust"),
    ],
)
def test_sync_without_a_usable_source_is_a_usage_error(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    result = run("matcher", "sync", *args, "--data-dir", str(tmp_path / "matcher"))
    assert result.exit_code == 2
    assert says in result.output


# -- match ---------------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path, pictures: list[Picture]) -> Path:
    """A data dir synced with the first picture's pdq (entry 1) and md5 (entry 2)."""
    path = write_list(tmp_path / "p.txt", [("pdq", pictures[0].pdq), ("md5", pictures[0].md5)])
    data_dir = tmp_path / "matcher"
    assert (
        run("matcher", "sync", "--source", source(path), "--data-dir", str(data_dir)).exit_code == 0
    )
    return data_dir


@pytest.fixture
def broken(tmp_path: Path, pictures: list[Picture]) -> Path:
    """A JPEG cut in half: it cannot be hashed."""
    path = tmp_path / "broken.jpg"
    data = pictures[1].path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def match(store: Path, *args: str | Path) -> tuple[int, list[dict[str, object]], Result]:
    result = run("match", *map(str, args), "--store", str(store), "--jobs", "1")
    rows = (
        [json.loads(line) for line in result.stdout.splitlines()] if "--format" not in args else []
    )
    return result.exit_code, rows, result


def test_match_prints_a_line_per_file_and_exits_1_on_a_match(
    store: Path, pictures: list[Picture], broken: Path
) -> None:
    listed, unlisted = pictures[0].path, pictures[2].path
    code, rows, _ = match(store, listed, unlisted, broken)
    assert code == 1
    assert [(r["path"], r["decision"]) for r in rows] == [
        (str(listed), "review"), (str(unlisted), "none"), (str(broken), "error"),
    ]  # fmt: skip
    matches = rows[0]["matches"]
    assert isinstance(matches, list)
    assert sorted((m["entry_id"], m["kind"], m["distance"]) for m in matches) == [
        (1, "pdq", 0), (2, "md5", 0),
    ]  # fmt: skip
    assert rows[1]["matches"] == [] and rows[1]["error"] is None
    assert "truncated" in str(rows[2]["error"])

    assert match(store, unlisted)[0] == 0
    assert match(store, unlisted, broken)[0] == 3
    assert match(store, listed.parent)[0] == 1  # a folder: every picture in it


def test_match_applies_a_policy_and_keeps_no_log(
    store: Path, pictures: list[Picture], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"banks": {BANK: {"action": "block"}}}))
    code, rows, _ = match(store, pictures[0].path, "--policy", policy)
    assert code == 1 and rows[0]["decision"] == "block"
    with MatcherState.open(state_path(store)) as state:  # offline: no log, reports, hooks
        assert state.decisions() == []
        assert state.fetchone("SELECT count(*) FROM report_outbox")[0] == 0
        assert state.fetchone("SELECT count(*) FROM flood_observations")[0] == 0


def test_match_writes_csv(store: Path, pictures: list[Picture], broken: Path) -> None:
    code, _, result = match(store, pictures[0].path, pictures[2].path, broken, "--format", "csv")
    assert code == 1
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["path", "decision", "entries", "error"]
    assert rows[1][:2] == [str(pictures[0].path), "review"]
    assert sorted(rows[1][2].split()) == [f"{BANK}:1", f"{BANK}:2"] and rows[1][3] == ""
    assert rows[2] == [str(pictures[2].path), "none", "", ""]
    assert rows[3][:3] == [str(broken), "error", ""] and "truncated" in rows[3][3]
    assert len(rows) == 4


def test_match_refuses_an_unknown_format(store: Path, pictures: list[Picture]) -> None:
    code, _, result = match(store, pictures[0].path, "--format", "xml")
    assert code == 2 and "jsonl, csv" in result.output


def test_match_against_a_store_with_no_lists_is_one_clear_error(
    tmp_path: Path, pictures: list[Picture]
) -> None:
    empty = tmp_path / "never-synced"
    empty.mkdir()
    files = [p.path for p in pictures]
    code, _, result = match(empty, *files, "--format", "csv")
    assert code == 2
    assert result.stdout == ""  # not an error line per file
    assert result.stderr.count("error:") == 1 and "no lists loaded" in result.stderr
    assert "stopframe matcher sync" in result.stderr

    missing = tmp_path / "typo"
    code, _, result = match(missing, *files)
    assert code == 2 and "no matcher data here" in result.stderr
    assert not missing.exists()  # not created by looking


# -- serve ---------------------------------------------------------------------------------------
def wait_for(url: str, limit: float, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + limit
    while True:
        assert process.poll() is None, f"serve exited:\n{log.read_text()}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} not ready in {limit} s:\n{log.read_text()}"
        time.sleep(0.2)


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_serve_answers_follows_the_partner_file_and_stops_with_its_children(
    tmp_path: Path, pictures: list[Picture]
) -> None:
    first, second = pictures[:2]
    path = write_list(tmp_path / "p.txt", [("pdq", first.pdq)])
    data_dir = tmp_path / "matcher"
    made = run("matcher", "create-key", "--scope", "match", "--data-dir", str(data_dir))
    key = made.stdout.strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOPFRAME_")}
    env["STOPFRAME_SYNC_INTERVAL_S"] = "0.5"
    command = [
        sys.executable, "-m", "stopframe", "matcher", "serve", "--source", source(path),
        "--workers", "2", "--port", str(port), "--data-dir", str(data_dir),
    ]  # fmt: skip
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    group = process.pid
    try:
        wait_for(f"{base}/readyz", 60, process, log)
        auth = {"Authorization": f"Bearer {key}"}

        def decide(value: str) -> str:
            body = {"signals": [{"kind": "pdq", "value": value}]}
            answer = httpx.post(f"{base}/v1/match/hashes", json=body, headers=auth, timeout=10)
            if answer.status_code == 503:  # a worker that has not loaded the lists yet
                return "unavailable"
            assert answer.status_code == 200, answer.text
            return str(answer.json()["decision"])

        answers: list[tuple[str, str]] = []
        # each worker loads the generation within 0.2 s; the bound leaves room for a busy machine
        deadline = time.monotonic() + 30
        while answers[-6:] != [("review", "none")] * 6:
            assert time.monotonic() < deadline, answers
            answers.append((decide(first.pdq), decide(second.pdq)))
        # either worker may answer either request: one may still be loading while the other serves
        assert {first for first, _ in answers} <= {"review", "unavailable"}
        assert {second for _, second in answers} <= {"none", "unavailable"}
        assert httpx.get(f"{base}/v1/match/hashes").status_code == 405

        with open(path, "a") as listing:
            listing.write(f"pdq {second.pdq}\n")
        appended = time.monotonic()
        while decide(second.pdq) != "review":
            assert time.monotonic() - appended < 30, log.read_text()
            time.sleep(0.1)
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert 'stopframe_matcher_decisions_total{decision="review"}' in metrics
        assert f'stopframe_matcher_list_entries{{source="{BANK}"}} 2.0' in metrics

        process.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        process.wait(timeout=15)
        while group_alive(group):
            assert time.monotonic() - stopped < 15, "a child of serve outlived it"
            time.sleep(0.1)
    finally:
        if group_alive(group):
            os.killpg(group, signal.SIGKILL)
        process.wait(timeout=10)
