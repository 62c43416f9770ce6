"""The demo's stages, in order: a registry and a matcher as real processes on loopback, a victim's
case registered through the intake page's routes, uploads matched, reports back, a withdrawal
that reaches the matcher, and triage of a seized folder. Each stage checks what it must see and
raises StageFailed naming itself otherwise, so the demo doubles as a smoke test."""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from stopframe.apps.intake.client import CaseClient, IntakeError
from stopframe.apps.intake.records import read_records
from stopframe.demo.media import DemoMedia, Upload, make_media
from stopframe.demo.processes import (
    Service,
    Services,
    StageFailed,
    clean_environment,
    free_port,
    run_command,
    wait_until,
)

CASE_BANK = "self-reported"  # the registry's default bank for case submissions
POLICY = {"banks": {CASE_BANK: {"action": "block"}}}  # the platform blocks on victims' hashes


@dataclass(frozen=True)
class DemoOptions:
    """Where the demo works and how long each stage may wait for the services."""

    work: Path
    keep: bool = False
    stage_timeout_s: float = 30.0


@dataclass(frozen=True)
class Decision:
    """What the matcher answered for one upload."""

    upload: Upload
    decision: str
    kind: str | None
    distance: int | float | None

    @property
    def right(self) -> bool:
        """Whether the decision is the one a working system gives."""
        return self.decision == self.upload.expect


@dataclass
class DemoRun:
    """What the demo did and saw, stage by stage, for the caller to show."""

    options: DemoOptions
    services: Services = field(default_factory=Services)
    logs: Path = field(init=False)
    registry: Service | None = None
    matcher: Service | None = None
    case_number: str = ""
    pin: str = ""
    items: dict[str, int] = field(default_factory=dict)  # victim file name -> item id
    decisions: list[Decision] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    withdrawn: str = ""  # the victim file whose item the case withdrew
    withdrawal_s: float = 0.0
    triage: dict[str, Any] = field(default_factory=dict)
    known_groups: list[dict[str, str]] = field(default_factory=list)
    platform_key: str = ""
    failure: StageFailed | None = None
    matcher_key: str = ""

    def __post_init__(self) -> None:
        self.logs = self.options.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    @property
    def registry_url(self) -> str:
        """The registry's address (its API under /v1, the intake page at /)."""
        assert self.registry is not None, "the registry has not been started"
        return self.registry.url

    @property
    def matcher_url(self) -> str:
        """The matcher's address."""
        assert self.matcher is not None, "the matcher has not been started"
        return self.matcher.url


def _http() -> httpx.Client:
    return httpx.Client(timeout=30, trust_env=False)


# -- the registry ------------------------------------------------------------------------------
def start_registry(run: DemoRun, media: DemoMedia) -> None:
    """A registry on SQLite in the work folder, serving the intake page at `/`, and the
    platform's API key (read and report)."""
    stage, port = "start registry", free_port()
    env = clean_environment(
        {"STOPFRAME_DATA_DIR": str(run.options.work / "registry"), "STOPFRAME_PORT": str(port)}
    )
    log = run.logs / "registry.log"
    created = run_command(
        stage,
        ["registry", "create-key", "--scope", "read", "--scope", "report", "--name", "platform"],
        env,
        log,
    )
    run.platform_key = json.loads(created)["key"]
    run.registry = run.services.start("registry", ["serve"], env, f"http://127.0.0.1:{port}", log)
    with _http() as http:
        wait_until(
            stage,
            "the registry did not answer /v1/health",
            lambda: http.get(f"{run.registry_url}/v1/health").status_code == 200,
            run.options.stage_timeout_s,
            run.registry,
        )


# -- the victim's case -------------------------------------------------------------------------
def open_case(run: DemoRun, media: DemoMedia) -> None:
    """Hash the victim's files here (robust sets, PDQ, vPDQ, MD5, SHA-256), open an anonymous
    case with the intake proof of work and add one item per file: the intake page's path."""
    stage = "victim's case"
    hashes = run.options.work / "victim-hashes.jsonl"
    victim_folder = media.victim[0].parent
    run_command(
        stage,
        ["hash", "--robust", str(victim_folder), "--output", str(hashes)],
        clean_environment({}),
        run.logs / "hash.log",
    )
    with hashes.open(encoding="utf-8") as stream:
        found = read_records(stream)
    if found.skipped or len(found.items) != len(media.victim):
        raise StageFailed(stage, f"hashed {len(found.items)} of {len(media.victim)} files: "
                                 f"{found.skipped}")  # fmt: skip
    try:
        with CaseClient(run.registry_url) as client:
            opened = client.open_case()
            answer = client.add_items(opened.case_number, opened.pin, [x.item for x in found.items])
    except IntakeError as exc:
        raise StageFailed(stage, str(exc)) from None
    run.case_number, run.pin = opened.case_number, opened.pin
    for local, item in zip(found.items, answer["items"], strict=True):
        run.items[Path(local.path).name] = int(item["id"])
    _write_private(
        run.options.work / "case.json",
        {"registry": run.registry_url, "case_number": run.case_number, "pin": run.pin},
    )


def _write_private(path: Path, body: dict[str, str]) -> None:
    """A JSON file readable by its owner only (the case file holds the PIN)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=1)


# -- the platform's matcher --------------------------------------------------------------------
def start_matcher(run: DemoRun, media: DemoMedia) -> None:
    """A matcher pinned to the registry's signing keys, with the platform's policy and its own
    API key, serving on loopback with its sync process long-polling the registry."""
    stage, port = "start matcher", free_port()
    data = run.options.work / "matcher"
    with _http() as http:
        published = http.get(
            f"{run.registry_url}/v1/keys", headers={"Authorization": f"Bearer {run.platform_key}"}
        )
    if published.status_code != 200:
        raise StageFailed(stage, f"/v1/keys answered {published.status_code}")
    trust, policy = run.options.work / "trust.json", run.options.work / "policy.json"
    trust.write_text(json.dumps(pinned_keys(published.json())), encoding="utf-8")
    policy.write_text(json.dumps(POLICY), encoding="utf-8")
    env = clean_environment(
        {
            "STOPFRAME_REGISTRY_KEY": run.platform_key,
            "STOPFRAME_MATCHER_PORT": str(port),
            "STOPFRAME_SYNC_WAIT_S": "5",
        }
    )
    log = run.logs / "matcher.log"
    run.matcher_key = run_command(
        stage, ["matcher", "create-key", "--scope", "match", "--name", "demo",
                "--data-dir", str(data)], env, log,
    ).strip()  # fmt: skip
    args = ["matcher", "serve", "--registry", run.registry_url, "--trust", str(trust),
            "--policy", str(policy), "--data-dir", str(data)]  # fmt: skip
    run.matcher = run.services.start("matcher", args, env, f"http://127.0.0.1:{port}", log)
    with _http() as http:
        wait_until(
            stage,
            "the matcher did not answer /livez",
            lambda: http.get(f"{run.matcher_url}/livez").status_code == 200,
            run.options.stage_timeout_s,
            run.matcher,
        )


def pinned_keys(published: list[dict[str, Any]]) -> dict[str, str]:
    """The trust file's content: key id -> public key, for every key the registry publishes."""
    return {key["key_id"]: key["public_key"] for key in published}


def wait_for_sync(run: DemoRun, media: DemoMedia) -> None:
    """The matcher lists the case's hashes: /readyz passes and an exact copy is blocked."""
    stage = "matcher sync"
    exact = next(u for u in media.uploads if "very same bytes" in u.what)
    with _http() as http:

        def blocked() -> bool:
            ready = http.get(f"{run.matcher_url}/readyz").status_code == 200
            return ready and match_upload(http, run, exact).decision == "block"

        def readyz() -> str:
            return "/readyz says " + http.get(f"{run.matcher_url}/readyz").text[:400]

        wait_until(
            stage,
            "the matcher did not list the case's hashes",
            blocked,
            run.options.stage_timeout_s,
            run.matcher,
            readyz,
        )


def match_upload(http: httpx.Client, run: DemoRun, upload: Upload) -> Decision:
    """The matcher's decision on one upload, sent as the platform would: the file itself."""
    kind = "video/mp4" if upload.path.suffix == ".mp4" else "image/jpeg"
    answer = http.post(
        f"{run.matcher_url}/v1/match/media",
        headers={"Authorization": f"Bearer {run.matcher_key}"},
        files={"file": (upload.path.name, upload.path.read_bytes(), kind)},
    )
    if answer.status_code != 200:
        raise StageFailed(
            "match uploads", f"{upload.path.name}: {answer.status_code} {answer.text}"
        )
    body = answer.json()
    closest = min(body["matches"], key=lambda m: m["distance"], default=None)
    return Decision(
        upload,
        body["decision"],
        closest["kind"] if closest else None,
        closest["distance"] if closest else None,
    )


def match_uploads(run: DemoRun, media: DemoMedia) -> None:
    """Every upload through the matcher; StageFailed if any decision is wrong."""
    with _http() as http:
        run.decisions = [match_upload(http, run, upload) for upload in media.uploads]
    wrong = [d for d in run.decisions if not d.right]
    if wrong:
        raise StageFailed(
            "match uploads",
            "; ".join(f"{d.upload.path.name} ({d.upload.what}) got {d.decision}, "
                      f"expected {d.upload.expect}" for d in wrong),
        )  # fmt: skip


# -- reports back, withdrawal ------------------------------------------------------------------
@contextmanager
def _case_client(stage: str, run: DemoRun) -> Iterator[CaseClient]:
    try:
        with CaseClient(run.registry_url) as client:
            yield client
    except IntakeError as exc:
        raise StageFailed(stage, str(exc)) from None


def wait_for_reports(run: DemoRun, media: DemoMedia) -> None:
    """The matcher's reports reach the case: every item was matched and acted on."""
    stage = "reports"
    with _case_client(stage, run) as client:

        def all_reported() -> bool:
            run.status = client.items(run.case_number, run.pin)
            return all(item["acted_on"] > 0 for item in run.status["items"])

        def missing() -> str:
            quiet = [str(i["id"]) for i in run.status.get("items", []) if not i["acted_on"]]
            return f"no report yet for item(s) {', '.join(quiet)}"

        wait_until(
            stage,
            "the matches were not reported back to the case",
            all_reported,
            run.options.stage_timeout_s,
            run.matcher,
            missing,
        )


def withdraw(run: DemoRun, media: DemoMedia) -> None:
    """The case withdraws one item; the matcher stops blocking its copies on its next sync,
    while the other items' copies stay blocked."""
    stage = "withdrawal"
    with _case_client(stage, run) as client:
        client.withdraw(run.case_number, run.pin, run.items[media.withdrawn.name])
    run.withdrawn = media.withdrawn.name
    still = next(
        u for u in media.uploads if u.expect == "block" and u.copy_of != media.withdrawn.name
    )
    with _http() as http:
        run.withdrawal_s = wait_until(
            stage,
            f"the matcher still blocks {media.withdrawn_upload.path.name}",
            lambda: match_upload(http, run, media.withdrawn_upload).decision == "none",
            run.options.stage_timeout_s,
            run.matcher,
        )
        kept = match_upload(http, run, still)
    if kept.decision != "block":
        raise StageFailed(stage, f"{still.path.name} is no longer blocked ({kept.decision})")


# -- triage ------------------------------------------------------------------------------------
def triage(run: DemoRun, media: DemoMedia) -> None:
    """An investigator sorts the seized folder against the matcher's lists: distinct pictures
    and recordings, and which are known (the withdrawn file no longer is)."""
    stage = "triage"
    out = run.options.work / "triage-report"
    work = run.options.work
    args = ["triage", str(media.seized), "--out", str(out), "--store", str(work / "matcher"),
            "--cache", str(work / "triage-cache.sqlite"), "--json"]  # fmt: skip
    stdout = run_command(stage, args, clean_environment({}), run.logs / "triage.log")
    run.triage = json.loads(stdout)
    with (out / "groups.csv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["relation"] == "representative"]
    run.known_groups = [r for r in rows if r["known"] == "yes"]
    truth = media.seized_truth
    seen = (
        run.triage["distinct_images"],
        run.triage["distinct_videos"],
        run.triage["known_groups"],
    )
    if seen != (truth.pictures, truth.recordings, truth.known):
        raise StageFailed(
            stage,
            f"found {seen[0]} distinct pictures, {seen[1]} recordings, {seen[2]} known groups; "
            f"expected {truth.pictures}, {truth.recordings}, {truth.known}",
        )


STAGES: tuple[tuple[str, Callable[[DemoRun, DemoMedia], None]], ...] = (
    ("start registry", start_registry),
    ("victim's case", open_case),
    ("start matcher", start_matcher),
    ("matcher sync", wait_for_sync),
    ("match uploads", match_uploads),
    ("reports", wait_for_reports),
    ("withdrawal", withdraw),
    ("triage", triage),
)


def run_demo(options: DemoOptions, on_stage: Callable[[str, str], None]) -> DemoRun:
    """Run the stages in order until one fails (`DemoRun.failure` then names it); `on_stage(name,
    "start" | "done in N s")` lets the caller show progress. The services are stopped at the end
    unless every stage passed and `options.keep` (then the caller stops them)."""
    run = DemoRun(options)
    try:
        on_stage("prepare media", "start")
        media = make_media(options.work / "media")
        on_stage("prepare media", "done")
        for name, stage in STAGES:
            on_stage(name, "start")
            started = time.monotonic()
            stage(run, media)
            on_stage(name, f"done in {time.monotonic() - started:.1f} s")
    except StageFailed as exc:
        run.failure = exc
    finally:
        if run.failure is not None or not options.keep:
            run.services.stop_all()
    return run
